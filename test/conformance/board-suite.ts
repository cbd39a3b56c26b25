import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HardwareUnavailableError, type DoorEdge, type LinkState } from '../../firmware-bridge/ports.ts';
import { sleep, until } from '../support/lockboard-wire.ts';
import type { BoardRig, ConformanceCase, RigDoor, RigSetup, WireEntry } from './board-rig.ts';

// One conformance suite for every CabinetBoard driver, run against each driver/emulator pair (as MQTT.js runs
// one abstract store suite against every store). The promises are the ones the controller builds on
// (firmware-bridge/ports.ts): a pulse opens one door, the door is seen opening, one latch at a time, a silent
// board is lost and comes back, no frame or write ever opens two locks, a crashed host leaves nothing
// energised, and stop() leaves nothing running. The byte vectors of HARDWARE.md are pinned once, in
// test/unit/lockboard-8a80.test.ts and test/unit/lockboard-kerong.test.ts, not here.

/** A pulse whose outcome is looked at later (a rejection is expected, never unhandled). */
function pending(pulse: Promise<void>): { settledWithin(ms: number): Promise<boolean> } {
  const settled = pulse.then(() => true, () => true);
  return {
    // Leaves no timer behind: the stop test counts them.
    async settledWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      try {
        return await Promise.race([settled, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What the board heard from `since` (a performance.now()) on. */
const heardSince = (rig: BoardRig, since: number) => rig.wire().filter((e) => e.at >= since);
const energised = (rig: BoardRig) => Object.entries(rig.model.snapshot()).filter(([, d]) => d.relay).map(([id]) => id);
const latchPulses = (rig: BoardRig) => Object.fromEntries(Object.entries(rig.model.snapshot()).map(([id, d]) => [id, d.latchPulses]));

/**
 * Every latch released: where the host times the pulse, as soon as the host's last writes have reached the
 * board (nothing else switches a Firmata output off); otherwise within the board's own pulse.
 */
async function latchesReleased(rig: BoardRig, what: string): Promise<void> {
  const withinMs = rig.latch.timedBy === 'host' ? 200 : rig.latch.pulseMs + 500;
  await until(() => energised(rig).length === 0, withinMs, `every latch released ${what} (energised: ${energised(rig).join(', ')})`);
}

/** Relay on/off as the model saw them, and the most energised at once. */
function watchLatches(rig: BoardRig) {
  const events: string[] = [];
  let most = 0;
  const last = new Map<string, boolean>();
  const off = rig.model.onChange((id) => {
    const now = energised(rig);
    most = Math.max(most, now.length);
    const on = now.includes(id);
    if (last.get(id) === on) return;
    last.set(id, on);
    events.push(`${id}${on ? '+' : '-'}`);
  });
  return { events, most: () => most, off };
}

/** Why an entry could open more than one lock, or null. */
function moreThanOneLock(entry: WireEntry): string | null {
  if (entry.kind === 'refused') return `refused by the board: ${entry.reason ?? 'forbidden'}`;
  if (entry.opens.length > 1) return `fires ${entry.opens.length} locks`;
  if ((entry.energised?.length ?? 0) > 1) return `leaves relays ${entry.energised!.join(', ')} energised together`;
  return null;
}

/** Counts of the driver-side handles a stopped driver must not leave behind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'Timeout' || kind.startsWith('TCP')) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export function defineBoardConformance(setup: RigSetup): void {
  describe(`${setup.name}: the CabinetBoard contract`, () => {
    let rig: BoardRig;
    let door: { a: RigDoor; b: RigDoor; c: RigDoor };

    beforeAll(async () => {
      rig = await setup.open();
      const [a, b, c] = rig.doors;
      if (!a || !b || !c) throw new Error(`${setup.name}: a rig needs at least three doors`);
      door = { a, b, c };
    }, setup.openTimeoutMs ?? 30_000);
    beforeEach(async () => {
      await rig.startDriver();
    }, setup.openTimeoutMs ?? 30_000);
    afterEach(async () => {
      await rig.reset();
    }, 15_000);
    afterAll(async () => {
      await rig?.dispose();
    });

    /** `it`; `it.fails` with the gap in its title where the driver is known not to keep it; skipped where the emulator cannot stage it. */
    const promise = (id: ConformanceCase, title: string, body: () => Promise<void>) => {
      const gap = setup.knownGaps?.[id];
      const cannot = setup.cannot?.[id];
      if (cannot) it.skip(`${title} [not staged: ${cannot}]`, body);
      else if (gap) it.fails(`${title} [known gap: ${gap}]`, body, setup.testTimeoutMs);
      else it(title, body, setup.testTimeoutMs);
    };

    promise('pulse-opens-one-door', 'a pulse opens exactly that door: only its latch moves, and one open goes on the wire', async () => {
      const before = latchPulses(rig);
      const since = performance.now();
      await rig.board.locks.pulse(door.b.lock);
      await until(() => rig.model.snapshot()[door.b.id]!.open, 1000, `${door.b.id} open in the cabinet`);
      const after = latchPulses(rig);
      const moved = Object.keys(after).filter((id) => after[id] !== before[id]);
      expect(moved).toEqual([door.b.id]);
      expect(after[door.b.id]).toBe(before[door.b.id]! + 1);
      expect(Object.entries(rig.model.snapshot()).filter(([, d]) => d.open).map(([id]) => id)).toEqual([door.b.id]);
      expect(heardSince(rig, since).flatMap((e) => e.opens)).toEqual([door.b.lock]);
      await latchesReleased(rig, 'after the pulse');
    });

    promise('open-edge', 'the door springing open is seen through DoorSensors: an open edge for that sensor only, then the close', async () => {
      const doors = rig.board.doors;
      const edges: DoorEdge[] = [];
      const off = doors.onEdge((edge) => edges.push(edge));
      try {
        expect(doors.isOpen(door.a.sensor)).toBe(false);
        await rig.board.locks.pulse(door.a.lock, { doorSensor: door.a.sensor });
        await until(() => edges.some((e) => e.open), 2000, 'the open edge');
        expect(doors.isOpen(door.a.sensor)).toBe(true);
        await latchesReleased(rig, 'after the pulse');
        rig.model.close(door.a.id);
        await until(() => edges.some((e) => !e.open), 2000, 'the close edge');
        expect(edges.map((e) => [e.sensor, e.open])).toEqual([[door.a.sensor, true], [door.a.sensor, false]]);
        expect(doors.isOpen(door.a.sensor)).toBe(false);
        expect(doors.isOpen(door.b.sensor)).toBe(false);
      } finally {
        off();
      }
    });

    promise('pulses-queue', 'pulses queue: the next lock is fired only after the previous pulse() has resolved', async () => {
      const since = performance.now();
      const resolvedAt: number[] = [];
      const order = [door.a, door.b, door.c];
      await Promise.all(order.map((d, i) => rig.board.locks.pulse(d.lock).then(() => (resolvedAt[i] = performance.now()))));
      const opens = heardSince(rig, since).filter((e) => e.opens.length > 0);
      expect(opens.flatMap((e) => e.opens)).toEqual(order.map((d) => d.lock));
      for (let i = 1; i < opens.length; i++) expect(opens[i]!.at).toBeGreaterThanOrEqual(resolvedAt[i - 1]!);
      await latchesReleased(rig, 'after the pulses');
    });

    promise('one-latch-energised', 'two pulses never overlap: at most one latch is energised at any moment', async () => {
      const latches = watchLatches(rig);
      try {
        const order = [door.a, door.b, door.c];
        await Promise.all(order.map((d) => rig.board.locks.pulse(d.lock)));
        await until(() => energised(rig).length === 0, rig.latch.timedBy === 'board' ? rig.latch.pulseMs + 500 : 0, 'every latch released');
        expect(latches.most()).toBe(1);
        expect(latches.events).toEqual(order.flatMap((d) => [`${d.id}+`, `${d.id}-`]));
      } finally {
        latches.off();
      }
    });

    promise('silent-board', 'a board that stops answering is lost (no-answer), refuses pulses meanwhile, and is ok again once it answers', async () => {
      const board = rig.board;
      const links: LinkState[] = [];
      const off = board.onLink((state) => links.push(state));
      try {
        const started = performance.now();
        rig.silence();
        await until(() => board.link === 'lost', rig.lostWithinMs, 'lost');
        expect(performance.now() - started).toBeLessThan(rig.lostWithinMs);
        expect(board.lastLoss).toMatchObject({ cause: 'no-answer' });
        const since = performance.now();
        await expect(board.locks.pulse(door.a.lock)).rejects.toBeInstanceOf(HardwareUnavailableError);
        expect(heardSince(rig, since).filter((e) => e.opens.length > 0)).toEqual([]);
        rig.answerAgain();
        await until(() => board.link === 'ok', 10_000, 'ok again');
        expect(links.filter((s, i) => s !== links[i - 1])).toEqual(['lost', 'ok']);
        const before = rig.model.snapshot()[door.c.id]!.latchPulses;
        await board.locks.pulse(door.c.lock);
        expect(rig.model.snapshot()[door.c.id]).toMatchObject({ open: true, latchPulses: before + 1 });
        await latchesReleased(rig, 'after the pulse');
      } finally {
        off();
      }
    });

    promise('one-lock-per-frame', 'no frame or write the board ever heard opens more than one lock', async () => {
      const since = performance.now();
      // Every door at once and one of them twice: whatever the driver queues, batches or resends.
      const all = rig.doors.map((d) => d.lock);
      await Promise.all([...all, door.a.lock].map((lock) => rig.board.locks.pulse(lock)));
      const opened = heardSince(rig, since).flatMap((e) => e.opens);
      expect(opened.sort((x, y) => x - y)).toEqual([...all, door.a.lock].sort((x, y) => x - y));
      const heard = rig.wire();
      expect(heard.length).toBeGreaterThan(opened.length);
      expect(heard.map((e) => [e.text, moreThanOneLock(e)]).filter(([, why]) => why !== null)).toEqual([]);
      await latchesReleased(rig, 'after the pulses');
    });

    promise('host-crash', 'a host that dies mid-pulse leaves no latch energised once a driver is back', async () => {
      const pulse = pending(rig.board.locks.pulse(door.c.lock));
      await until(() => rig.model.snapshot()[door.c.id]!.relay, 2000, `${door.c.id}'s latch energised`);
      await rig.crashHost();
      expect(await pulse.settledWithin(2000)).toBe(true);
      if (rig.latch.timedBy === 'host') {
        // The board keeps its output with nobody there: only the next driver can switch it off.
        await sleep(100);
        expect(energised(rig)).toEqual([door.c.id]);
      } else {
        // The board ends its own pulse, host or not.
        await until(() => energised(rig).length === 0, rig.latch.pulseMs + 500, 'the board to release the latch by itself');
      }
      const board = await rig.startDriver();
      expect(board.link).toBe('ok');
      expect(energised(rig)).toEqual([]);
      expect(rig.model.snapshot()[door.c.id]!.open).toBe(true);
    });

    promise('board-restart', 'a board that restarts under the driver is set up again: a door opened afterwards is seen, and a pulse works', async () => {
      const board = rig.board;
      await rig.restartBoard!();
      rig.model.force(door.a.id);
      // The driver may take a moment to notice the restart and connect afresh; the door must be seen open then.
      await until(() => board.link === 'ok' && board.doors.isOpen(door.a.sensor) === true, 10_000, `${door.a.id} seen open after the restart`);
      const before = rig.model.snapshot()[door.b.id]!.latchPulses;
      await board.locks.pulse(door.b.lock);
      expect(rig.model.snapshot()[door.b.id]).toMatchObject({ open: true, latchPulses: before + 1 });
      await latchesReleased(rig, 'after the pulse');
    });

    promise('stop', 'stop() leaves nothing running: no timer or socket, nothing more on the wire, no latch energised, pulses refused', async () => {
      await rig.board.stop();
      await until(() => !rig.hostConnected(), 2000, 'the board to see its host gone');
      await latchesReleased(rig, 'before the new driver');
      await sleep(50);
      const baseline = handles();
      const board = await rig.startDriver();
      await board.locks.pulse(door.a.lock);
      const pulse = pending(board.locks.pulse(door.b.lock));
      await until(() => rig.model.snapshot()[door.b.id]!.relay, 2000, `${door.b.id}'s latch energised`);
      await board.stop();
      expect(await pulse.settledWithin(1000)).toBe(true);
      expect(board.link).not.toBe('ok');
      await latchesReleased(rig, 'after stop()');
      await until(() => !rig.hostConnected(), 2000, 'the board to see its host gone');
      const since = performance.now();
      await sleep(2 * rig.heardEveryMs + 100); // a running driver would have been heard at least twice
      expect(heardSince(rig, since).map((e) => e.text)).toEqual([]);
      await expect(board.locks.pulse(door.c.lock)).rejects.toThrow();
      const left = handles();
      expect(Object.keys(left).filter((kind) => left[kind]! > (baseline[kind] ?? 0)).map((kind) => `${kind}: ${baseline[kind] ?? 0} → ${left[kind]}`)).toEqual([]);
    });
  });
}
