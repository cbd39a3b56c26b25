import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { LockboardBoard } from '../../firmware-bridge/lockboard/lockboard-board.ts';
import type { DoorEdge, LinkState } from '../../firmware-bridge/ports.ts';
import type { SimCompartment } from '../../simulator/lockboard-bus.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/simulator.ts';
import { until } from '../support/cabinet-harness.ts';

// The RS-485 bus driver against the emulated lock boards over real TCP (as through an RS-485-to-Ethernet
// converter), one suite run against each protocol: the same promises hold for 8A/80 and Kerong KR-CU.

const PROTOCOLS = [
  { protocol: '8a80', boards: [1, 2] },
  { protocol: 'kerong-cu', boards: [0, 1] },
] as const;

const at = (id: string, board: number, channel: number): SimCompartment => ({ id, size: 'S', board, channel, lockChannel: lockId(board, channel), doorSensor: lockId(board, channel) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

let sim: RunningSimulator | null = null;
let board: LockboardBoard | null = null;
afterEach(async () => {
  await board?.stop();
  board = null;
  await sim?.stop();
  sim = null;
});

for (const { protocol, boards: [first, second] } of PROTOCOLS) {
  describe(`LockboardBoard against the emulated ${protocol} bus over TCP`, () => {
    const compartments = [at('A01', first, 1), at('A02', first, 2), at('B05', second, 5)];
    const A01 = lockId(first, 1);
    const B05 = lockId(second, 5);

    async function start(settings: Record<string, unknown> = {}) {
      sim = await startSimulator({ compartments, controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol, port: 0, settings: { pulseMs: 100, ...settings } } });
      board = new LockboardBoard({
        bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.lockboard! }, pollMs: 100, replyMs: 150, openReplyMs: 400 },
        locks: compartments.map((c) => ({ board: c.board!, channel: c.channel! })),
        reconnect: { minMs: 50, maxMs: 500 },
      });
      const edges: DoorEdge[] = [];
      const links: LinkState[] = [];
      board.doors.onEdge((e) => edges.push(e));
      board.onLink((s) => links.push(s));
      await board.start({ readyTimeoutMs: 3000 });
      return { sim, board, edges, links, bus: sim.lockboard! };
    }
    const openFrames = () => sim!.lockboard!.log().filter((e) => e.request === 'open');

    it('reads every board and each door by its lock id', async () => {
      const { board: b } = await start();
      expect(b.link).toBe('ok');
      expect(b.doors.isOpen(A01)).toBe(false);
      expect(b.doors.isOpen(B05)).toBe(false);
      expect(Boolean(b.items)).toBe(protocol === 'kerong-cu');
    });

    it('pulse opens exactly that one door with exactly one open frame; the open and close edges come from polling', async () => {
      const { board: b, edges, bus } = await start();
      await b.locks.pulse(B05);
      expect(openFrames().map((e) => [e.board, e.channel, e.door])).toEqual([[second, 5, 'B05']]);
      expect(bus.counts.opens).toBe(1);
      await until(() => edges.some((e) => e.sensor === B05 && e.open), 2000, 'the open edge');
      const pulses = Object.fromEntries(Object.entries(sim!.model.snapshot()).map(([id, d]) => [id, d.latchPulses]));
      expect(pulses).toEqual({ A01: 0, A02: 0, B05: 1 });
      sim!.model.close('B05');
      await until(() => edges.some((e) => e.sensor === B05 && !e.open), 2000, 'the close edge');
      expect(edges.map((e) => [e.sensor, e.open])).toEqual([[B05, true], [B05, false]]);
      expect(bus.counts.refused).toBe(0);
      expect(b.stats().opens).toBe(1);
    });

    it('an open whose reply never comes is not sent again: the door is seen open by polling', async () => {
      const { board: b, edges, bus } = await start();
      bus.setFault(first, 'no-open-reply');
      await b.locks.pulse(A01);
      await until(() => edges.some((e) => e.sensor === A01 && e.open), 2000, 'the open edge');
      await sleep(600); // longer than the open's reply window and several polls
      expect(openFrames()).toHaveLength(1);
      expect(sim!.model.snapshot().A01!.latchPulses).toBe(1);
      expect(b.link).toBe('ok');
    });

    it('a silent board is lost (no-answer) within seconds, the others still read; answering again makes it ok', async () => {
      const { board: b, edges, links, bus } = await start();
      const t0 = performance.now();
      bus.setFault(second, 'silent');
      await until(() => b.link === 'lost', 5000, 'lost');
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(b.lastLoss).toMatchObject({ cause: 'no-answer', reason: expect.stringContaining(`board ${second}`) });
      sim!.model.force('A01');
      await until(() => edges.some((e) => e.sensor === A01 && e.open), 2000, 'the other board still read');
      bus.setFault(second, null);
      await until(() => b.link === 'ok', 5000, 'ok again');
      expect(links).toEqual(['ok', 'lost', 'ok']);
      expect(openFrames()).toEqual([]);
    });

    it('a pulled cable is lost (connection-lost) and the bus is reopened when it is back', async () => {
      const { board: b, links, bus } = await start();
      bus.disconnect('drop');
      await until(() => b.link === 'lost', 3000, 'lost');
      expect(b.lastLoss?.cause).toBe('connection-lost');
      bus.connect();
      await until(() => b.link === 'ok', 5000, 'ok again');
      expect(links).toEqual(['ok', 'lost', 'ok']);
    });

    it('a serial server that closes the connection itself (FIN: another host took its only TCP slot) is lost as closed-by-board, then taken back', async () => {
      // A converter in front of the emulated bus that can hang up politely, as a real one does for a newcomer.
      const { sim: s } = await start();
      const hosts = new Set<net.Socket>();
      const converter = net.createServer((host) => {
        hosts.add(host);
        const line = net.createConnection({ host: '127.0.0.1', port: s.ports.lockboard! });
        host.pipe(line).pipe(host);
        host.on('close', () => (hosts.delete(host), line.destroy()));
        line.on('error', () => host.destroy());
        host.on('error', () => line.destroy());
      });
      await new Promise<void>((resolve) => converter.listen(0, '127.0.0.1', resolve));
      await board!.stop();
      const viaConverter = new LockboardBoard({
        bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: (converter.address() as net.AddressInfo).port }, pollMs: 100, replyMs: 150 },
        locks: compartments.map((c) => ({ board: c.board!, channel: c.channel! })),
        reconnect: { minMs: 50, maxMs: 200 },
      });
      board = viaConverter;
      const links: LinkState[] = [];
      viaConverter.onLink((state) => links.push(state));
      try {
        await viaConverter.start({ readyTimeoutMs: 3000 });
        for (const host of hosts) host.end();
        await until(() => viaConverter.lastLoss !== null, 3000, 'the loss noticed');
        expect(viaConverter.lastLoss).toMatchObject({ cause: 'closed-by-board', reason: expect.stringMatching(/serial server closed the connection/) });
        await until(() => viaConverter.link === 'ok' && links.length >= 3, 5000, 'ok again');
        expect(links).toEqual(['ok', 'lost', 'ok']);
        expect(viaConverter.doors.isOpen(A01)).toBe(false);
      } finally {
        await viaConverter.stop();
        board = null;
        for (const host of hosts) host.destroy();
        await new Promise((resolve) => converter.close(resolve));
      }
    });

    it('skips and counts stray bytes before replies, and reads the doors right', async () => {
      const { board: b, bus } = await start();
      bus.setFault(first, 'stray-bytes');
      sim!.model.force('A02');
      await until(() => b.doors.isOpen(lockId(first, 2)) === true, 2000, 'A02 read open');
      await until(() => b.stats().strayBytes >= 8, 2000, 'stray bytes counted');
      expect(b.link).toBe('ok');
      expect(b.doors.isOpen(A01)).toBe(false);
    });

    it('ignores replies with a bad check byte (counted), so a board that only sends those is lost', async () => {
      const { board: b, bus } = await start();
      bus.setFault(first, 'bad-check');
      sim!.model.force('A01');
      await until(() => b.link === 'lost', 5000, 'lost');
      expect(b.stats().badChecks).toBeGreaterThanOrEqual(3);
      expect(b.doors.isOpen(A01)).toBe(false); // never taken from a damaged reply
      bus.setFault(first, null);
      await until(() => b.link === 'ok' && b.doors.isOpen(A01) === true, 5000, 'ok again, A01 open');
    });

    it('ignores replies that name another address (counted), never reading a door from them', async () => {
      const { board: b, bus } = await start();
      bus.setFault(first, 'wrong-address');
      sim!.model.force('A01');
      await until(() => b.stats().wrongAddress >= 3, 5000, 'wrong-address replies counted');
      expect(b.doors.isOpen(A01)).toBe(false);
      bus.setFault(first, null);
      await until(() => b.doors.isOpen(A01) === true, 5000, 'A01 read open once answered right');
    });

    if (protocol === 'kerong-cu') {
      it('reports the infrared item sensors', async () => {
        const { board: b } = await start();
        expect(b.items!.isPresent(A01)).toBe(false);
        sim!.model.setOccupied('A01', true);
        await until(() => b.items!.isPresent(A01) === true, 2000, 'item seen');
      });
    }
  });
}

describe.skipIf(!hasSocat)('LockboardBoard over a real serial port (a socat pseudo-terminal pair)', () => {
  for (const { protocol, boards: [first] } of PROTOCOLS) {
    it(`${protocol}: opens the port at the protocol's speed, reads the doors and opens one lock with one frame`, async () => {
      const compartments = [at('A01', first, 1), at('A02', first, 2)];
      sim = await startSimulator({ compartments, controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol, pty: true, settings: { pulseMs: 100 } } });
      const baudRate = protocol === '8a80' ? 9600 : 19200;
      board = new LockboardBoard({
        bus: { protocol, transport: { kind: 'serial', path: sim.lockboardPty!, baudRate }, pollMs: 100, replyMs: 200 },
        locks: compartments.map((c) => ({ board: c.board!, channel: c.channel! })),
      });
      await board.start({ readyTimeoutMs: 5000 });
      expect(board.doors.isOpen(lockId(first, 2))).toBe(false);
      await board.locks.pulse(lockId(first, 2));
      await until(() => board!.doors.isOpen(lockId(first, 2)) === true, 2000, 'A02 seen open');
      expect(sim.lockboard!.log().filter((e) => e.request === 'open').map((e) => [e.link, e.door])).toEqual([['serial', 'A02']]);
      await board.stop();
      board = null;
    });
  }
});
