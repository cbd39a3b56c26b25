import { afterEach, describe, expect, it } from 'vitest';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';

// The whole cabinet on RS-485 lock boards: the real controller with a real SQLite file, its lock-board driver
// polling the simulator's emulated bus over TCP. A load and a pickup open exactly one door each, with exactly
// one open frame each; a board that stops answering takes /health to "lost" within 10 s and pickups are
// refused out-of-service; when it answers again, "ok".

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

/** The harness of the Firmata tests, on the demo cabinet's lock boards of `protocol`. */
/** The cabinet on emulated lock boards of `protocol`, through the shared harness. */
const startOnLockBoards = (protocol: '8a80' | 'kerong-cu'): Promise<Harness> => startHarness({ lockboard: protocol });

const health = async (harness: Harness) => (await harness.call('GET', '/api/v1/health', undefined, null)).json;

/** The controller sees the door open (by polling: a door shut again within one poll is never seen, as on a real bus). */
async function seenOpen(harness: Harness, compartment: string): Promise<void> {
  const c = harness.controller.cabinet.config.compartments.find((x) => x.id === compartment)!;
  await until(() => harness.controller.cabinet.board.doors.isOpen(c.doorSensor) === true, 3000, `${compartment} seen open`);
}

/** A clerk scans an item; the door opens; once the cabinet has seen it open, the item goes in and the door shuts. */
async function readyCase(harness: Harness, caseNo: string, barcode: string) {
  expect((await harness.call('POST', '/api/v1/cases', caseBody(caseNo, [{ type: 'seal', barcode, label: '公章' }]))).status).toBe(201);
  const load = await harness.call('POST', '/api/v1/loads', { barcode });
  expect(load.status, JSON.stringify(load.json)).toBe(202);
  const door = load.json.compartment as string;
  await seenOpen(harness, door);
  harness.sim.model.close(door, { occupied: true });
  await until(async () => (await harness.call('GET', `/api/v1/loads/${load.json.loadId}`)).json.state === 'committed', 3000, 'load committed');
  const notify = await harness.call('POST', `/api/v1/cases/${caseNo}/notify`);
  return { door, code: notify.json.code as string };
}

for (const protocol of ['8a80', 'kerong-cu'] as const) {
  describe(`a cabinet on ${protocol} lock boards`, () => {
    it('loads and hands out a case, one open frame per door opened, and says what it counted on the bus', async () => {
      h = await startOnLockBoards(protocol);
      expect(await health(h)).toMatchObject({ hardware: 'ok' });
      const bus = h.sim.lockboard!;
      const caseNo = `LB-${protocol.toUpperCase()}-1`;
      const { door, code } = await readyCase(h, caseNo, `LB-${protocol}-SEAL`);
      expect(bus.log().filter((e) => e.request === 'open').map((e) => e.door)).toEqual([door]);
      const pickup = await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
      expect(pickup.json).toMatchObject({ result: 'opened', compartments: [door] });
      await seenOpen(h, door);
      h.sim.model.close(door, { occupied: false });
      await until(async () => (await h!.call('GET', `/api/v1/cases/${caseNo}`)).json.state === 'collected', 5000, 'collected');
      expect(bus.log().filter((e) => e.request === 'open').map((e) => e.door)).toEqual([door, door]);
      expect(bus.counts.refused).toBe(0);
      const metrics = (await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^govlocker_bus_opens_total\{cabinet="[^"]+"\} 2$/m);
      expect(metrics).toMatch(/^govlocker_bus_timeouts_total\{cabinet="[^"]+"\} \d+$/m);
    });

    it('a board that stops answering makes /health say hardware "lost" within 10 s and pickups out-of-service; answering again makes it ok', async () => {
      h = await startOnLockBoards(protocol);
      const ready = await readyCase(h, `LB-${protocol.toUpperCase()}-2`, `LB-${protocol}-SEAL2`);
      const bus = h.sim.lockboard!;
      const opensBefore = bus.counts.opens;
      const t0 = Date.now();
      for (const b of bus.boards) bus.setFault(b.board, 'silent');
      await until(async () => (await health(h!)).hardware === 'lost', 10_000, 'hardware lost');
      expect(Date.now() - t0).toBeLessThan(10_000);
      const refused = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
      expect(refused.json).toMatchObject({ result: 'denied', reason: 'out-of-service' });
      for (const b of bus.boards) bus.setFault(b.board, null);
      await until(async () => (await health(h!)).hardware === 'ok', 10_000, 'hardware ok');
      expect(bus.counts.opens).toBe(opensBefore);
      const events = h.controller.cabinet.store.outbox.after(0, 10_000).map((e) => e.type);
      expect(events).toEqual(expect.arrayContaining(['hardware.lost', 'hardware.restored']));
    });
  });
}
