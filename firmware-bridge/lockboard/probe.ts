import type { Duplex } from 'node:stream';
import { describeTransport, openTransport } from '../open-transport.ts';
import type { BusCounters } from '../ports.ts';
import type { TransportConfig } from '../transport.ts';
import { LockBus, zeroCounters } from './bus.ts';
import { hex } from './frame.ts';
import type { BoardReading, ProtocolChoice, ProtocolName } from './protocol.ts';
import { protocolFor } from './protocols.ts';

// Commissioning: ask every board address of a bus for its status and say who answered — with how many channels,
// each lock's contact and (Kerong) item sensor — so an installer can check addresses and polarity before the
// cabinet runs. Only status queries are sent: a probe never opens a lock.

export interface ProbeOptions {
  readonly bus: ProtocolChoice & { readonly transport: TransportConfig; readonly replyMs?: number };
  /** The addresses to ask; default every address of the protocol (8A/80: 1…highestBoard, Kerong: 0…14). */
  readonly boards?: readonly number[];
  readonly connectTimeoutMs?: number;
  /** Told once the bus is open, before the first board is asked (to print as it goes). */
  readonly onStart?: (plan: { readonly protocol: ProtocolName; readonly transport: string; readonly line: string; readonly boards: readonly number[] }) => void;
  /** Told as each board has been asked. */
  readonly onBoard?: (result: BoardProbe) => void;
  /** The wire, for tests: replaces opening `bus.transport`. */
  readonly openWire?: () => Promise<Duplex>;
}

export type BoardProbe =
  | { readonly board: number; readonly answered: false }
  | { readonly board: number; readonly answered: true; readonly reading: BoardReading; readonly frame: string; readonly ms: number };

export interface ProbeReport {
  readonly protocol: ProtocolName;
  readonly transport: string;
  /** The line the protocol runs on (over TCP, the serial server must be set to it). */
  readonly line: string;
  readonly reportsItems: boolean;
  readonly boards: readonly BoardProbe[];
  readonly counters: BusCounters;
}

const noise = (c: BusCounters): number => c.strayBytes + c.badChecks + c.wrongAddress + c.unexpected + c.truncated;

/** Asks each board once (again after a garbled answer); rejects only when the transport cannot be opened. */
export async function probeBus(options: ProbeOptions): Promise<ProbeReport> {
  const protocol = protocolFor(options.bus);
  const { transport } = options.bus;
  const stream = options.openWire
    ? await options.openWire()
    : await openTransport(transport, { timeoutMs: options.connectTimeoutMs ?? 5000, framing: protocol.line });
  const counters = zeroCounters();
  const bus = new LockBus(stream, { tcp: transport.kind === 'tcp', counters, gapMs: 2 });
  const replyMs = options.bus.replyMs ?? 300;
  const line = `${transport.kind === 'serial' ? transport.baudRate : protocol.line.baudRate} ${protocol.line.dataBits}N${protocol.line.stopBits}`;
  const addresses = options.boards ?? protocol.boardAddresses();
  const boards: BoardProbe[] = [];
  try {
    options.onStart?.({ protocol: protocol.name, transport: describeTransport(transport), line, boards: addresses });
    for (const board of addresses) {
      let result: BoardProbe = { board, answered: false };
      // Asked again only when something came back but no good reply (noise, a damaged frame): silence means nobody there.
      for (let attempt = 0, heard = true; attempt < 2 && heard && !result.answered && !bus.closed; attempt++) {
        const before = noise(counters);
        const answer = await bus.transact(protocol.probeBoard(board), replyMs);
        if (answer.kind === 'reply') result = { board, answered: true, reading: answer.value, frame: hex(answer.frame), ms: Math.round(answer.ms) };
        heard = noise(counters) > before;
      }
      if (bus.closed) throw new Error(`the connection to ${describeTransport(transport)} closed during the probe (a serial server serves one client: is the controller still connected?)`);
      boards.push(result);
      options.onBoard?.(result);
    }
  } finally {
    await bus.close('probe done');
  }
  return { protocol: protocol.name, transport: describeTransport(transport), line, reportsItems: protocol.reportsItems, boards, counters: { ...counters } };
}
