import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { LockboardBoard } from '../../firmware-bridge/lockboard/lockboard-board.ts';
import { CabinetModel } from '../../simulator/cabinet-model.ts';
import { LockboardBusEmulator, type BusLogEntry } from '../../simulator/lockboard-device.ts';
import { resolveLockboardSettings, type LockboardProtocol } from '../../simulator/lockboard-protocol.ts';
import { sleep, until } from '../support/lockboard-wire.ts';
import { TcpTap } from '../support/tcp-tap.ts';
import type { BoardRig, WireEntry } from './board-rig.ts';

// LockboardBoard against the emulated RS-485 bus of one protocol, reached over TCP as through an
// RS-485-to-Ethernet converter, with the line's real timing (9600 or 19200 baud, 10 bits a byte). Two boards;
// the driver reaches the converter through a TcpTap so a host crash can be staged. What the boards heard is the
// emulator's own log (the same as GET /sim/bus).

/** How long a board energises a latch for one open (electromagnetic locks take ~500 ms; shorter keeps tests quick). */
const BOARD_PULSE_MS = 300;
const POLL_MS = 100;
/** A power blip: off for a couple of polls. */
const BOARD_BLIP_MS = 250;

/** The compartments: three on the first board (first, second and last channel) and one on the second. */
const LAYOUT: Record<LockboardProtocol, readonly { id: string; board: number; channel: number }[]> = {
  '8a80': [{ id: 'A01', board: 1, channel: 1 }, { id: 'A02', board: 1, channel: 2 }, { id: 'A24', board: 1, channel: 24 }, { id: 'B05', board: 2, channel: 5 }],
  'kerong-cu': [{ id: 'A01', board: 0, channel: 1 }, { id: 'A02', board: 0, channel: 2 }, { id: 'A16', board: 0, channel: 16 }, { id: 'B05', board: 1, channel: 5 }],
};

export async function openLockboardRig(protocol: LockboardProtocol): Promise<BoardRig> {
  const layout = LAYOUT[protocol];
  const model = new CabinetModel(layout.map(({ id, board, channel }) => ({ id, lockChannel: lockId(board, channel), doorSensor: lockId(board, channel) })));
  const bus = new LockboardBusEmulator(model, {
    protocol,
    settings: resolveLockboardSettings(protocol, { pulseMs: BOARD_PULSE_MS, realTiming: true }),
    doors: layout,
    port: 0,
    now: () => performance.timeOrigin + performance.now(), // sub-millisecond, and comparable with performance.now()
  });
  const port = await bus.start();
  const boards = [...new Set(layout.map((l) => l.board))];
  let tap: TcpTap | null = null;
  let driver: LockboardBoard | null = null;

  const rig: BoardRig = {
    model,
    doors: layout.map(({ id, board, channel }) => ({ id, lock: lockId(board, channel), sensor: lockId(board, channel) })),
    get board() {
      if (!driver) throw new Error('no driver started');
      return driver;
    },
    latch: { timedBy: 'board', pulseMs: BOARD_PULSE_MS },
    heardEveryMs: POLL_MS,
    lostWithinMs: 3000,
    async startDriver() {
      await tap?.close();
      tap = await TcpTap.open({ port });
      driver = new LockboardBoard({
        bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: tap.port }, pollMs: POLL_MS, replyMs: 150, openReplyMs: 400, latchMs: BOARD_PULSE_MS + 20 },
        locks: layout.map(({ board, channel }) => ({ board, channel })),
        reconnect: { minMs: 50, maxMs: 500 },
      });
      await driver.start({ readyTimeoutMs: 3000 });
      return driver;
    },
    silence: () => boards.forEach((b) => bus.setFault(b, 'silent')),
    answerAgain: () => boards.forEach((b) => bus.setFault(b, null)),
    // A lock board keeps no set-up from its host: a power blip is a moment in which it answers nothing.
    async restartBoard() {
      rig.silence();
      await sleep(BOARD_BLIP_MS);
      rig.answerAgain();
    },
    async crashHost() {
      tap?.cut();
      await driver?.stop(); // frees its timers; it cannot reach the bus any more
    },
    hostConnected: () => bus.hostConnected,
    wire: () => heard(bus),
    async reset() {
      await driver?.stop();
      driver = null;
      await tap?.close();
      tap = null;
      rig.answerAgain();
      await until(() => !bus.hostConnected, 2000, 'the converter to see its client gone'); // it has one slot
      await until(() => Object.values(model.snapshot()).every((d) => !d.relay), BOARD_PULSE_MS + 500, 'every latch released');
      for (const [id, door] of Object.entries(model.snapshot())) {
        if (door.fault) model.setFault(id, null);
        if (door.open) model.close(id);
      }
    },
    async dispose() {
      await rig.reset();
      await bus.stop();
    },
  };
  return rig;
}

/** The first 100 refused frames and the last 500 frames, oldest first, in the suite's terms; the counts vouch for the rest. */
function heard(bus: LockboardBusEmulator): WireEntry[] {
  const bySeq = new Map<number, BusLogEntry>();
  for (const entry of [...bus.refusedFrames, ...bus.log()]) bySeq.set(entry.seq, entry);
  const entries = [...bySeq.values()].sort((a, b) => a.seq - b.seq).map((e): WireEntry => {
    const at = e.at - performance.timeOrigin;
    if (e.request === 'open') return { at, text: e.frame, kind: 'open', opens: [lockId(e.board!, e.channel!)] };
    if (e.request === 'query-lock' || e.request === 'query-board') return { at, text: e.frame, kind: 'query', opens: [] };
    return { at, text: e.frame, kind: 'refused', opens: [], reason: `${e.request}: ${e.reason ?? ''}` };
  });
  const { refused, badFrames } = bus.counts;
  const unlisted = refused + badFrames - entries.filter((e) => e.kind === 'refused').length;
  if (unlisted > 0) entries.unshift({ at: 0, text: `${unlisted} refused or damaged frames no longer in the log`, kind: 'refused', opens: [] });
  return entries;
}
