import { afterEach, describe, expect, it } from 'vitest';
import { ID_SUFFIX, startHarness, until, type Harness, type HarnessOptions } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';

// Door switches lie: a glitch, a loose wire that chatters, a switch stuck open or stuck shut. Each one is
// injected through the simulator's control API (CONTRACT §5) and reaches the controller over its wire
// (Firmata over TCP), as the real switch would.

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events = (harness: Harness, type?: string) => harness.controller.cabinet.store.outbox.after(0, 10_000).filter((e) => type === undefined || e.type === type);
const compartment = async (harness: Harness, id: string) => (await harness.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id);
const openAlarms = async (harness: Harness) => (await harness.call('GET', '/api/v1/alarms')).json as { kind: string; compartment: string | null; data: Record<string, unknown> }[];

/** The person at the cabinet, through the simulator's control API. */
async function sim(harness: Harness, path: string, body: unknown = {}): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${harness.sim.ports.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, `${path}: ${await r.text()}`).toBeLessThan(300);
}
const force = (harness: Harness, door: string) => sim(harness, `/sim/doors/${door}/force`);
const close = (harness: Harness, door: string) => sim(harness, `/sim/doors/${door}/close`);

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

describe('a door nobody unlocked is judged by how long it stays open', () => {
  it('a blip shorter than hardware.minOpenMs is a sensor glitch, not an open/close pair or a forced door; one that stays open is forced', async () => {
    // 1 s rather than the default 200 ms, so a slow test machine cannot stretch the blip into a real open.
    const harness = await start({ config: { hardware: { minOpenMs: 1000 } } });
    await force(harness, 'B02');
    await sleep(20);
    await close(harness, 'B02');
    const glitch = await until(() => events(harness, 'sensor.glitch')[0], 3000, 'sensor.glitch');
    expect(glitch.data).toMatchObject({ compartment: 'B02' });
    expect(glitch.data.openMs).toBeLessThan(1000);
    await sleep(1100); // past minOpenMs: still nothing else
    expect(events(harness).filter((e) => /^door\./.test(e.type))).toEqual([]);
    expect(await openAlarms(harness)).toEqual([]);
    expect((await compartment(harness, 'B02')).door).toBe('closed');

    await force(harness, 'B02');
    await until(() => events(harness, 'door.forced').length === 1, 3000, 'door.forced');
    expect(events(harness).filter((e) => e.type.startsWith('door.')).map((e) => e.type)).toEqual(['door.opened', 'door.forced']);
    expect((await openAlarms(harness)).map((a) => [a.kind, a.compartment])).toEqual([['door-forced', 'B02']]);
  });
});

describe('a door switch that cannot be believed takes its compartment out of service', () => {
  it('a switch that chatters (a loose wire) is reported once as faulty, with an alarm, and ignored until ops enable the compartment', async () => {
    const harness = await start({ config: { hardware: { minOpenMs: 1000, sensorChatter: { edges: 10, withinMs: 5000 } } } });
    for (let i = 0; i < 8; i++) {
      await force(harness, 'B03');
      await sleep(15);
      await close(harness, 'B03');
      await sleep(15);
    }
    const faulty = await until(() => events(harness, 'sensor.faulty')[0], 3000, 'sensor.faulty');
    expect(faulty.data).toMatchObject({ compartment: 'B03', kind: 'chatter', edges: 10 });
    await sleep(200);
    expect(events(harness, 'sensor.faulty')).toHaveLength(1);
    expect(events(harness, 'door.forced')).toEqual([]); // nobody forced anything: the wire is loose
    expect(await compartment(harness, 'B03')).toMatchObject({ state: 'fault' });
    expect((await openAlarms(harness)).map((a) => [a.kind, a.compartment])).toEqual([['sensor-faulty', 'B03']]);
    const before = events(harness).length;
    await force(harness, 'B03');
    await sleep(400);
    expect(events(harness).length).toBe(before); // the faulty switch is not believed

    // Repaired: ops enable it, and the switch counts again from what it says now.
    await close(harness, 'B03');
    expect((await harness.call('POST', '/api/v1/compartments/B03/enable', {})).status).toBe(200);
    await force(harness, 'B03');
    await sleep(50);
    await until(() => events(harness, 'door.forced').length === 1, 3000, 'door.forced after the repair');
  });

  it('a door the cabinet opens again and again, faster than a person would, is not taken for a chattering switch', async () => {
    const harness = await start({ config: { policy: { remoteOpensPerMinute: 60 } } });
    for (let i = 0; i < 8; i++) {
      expect((await harness.call('POST', '/api/v1/compartments/A01/open', { reason: 'switch check' })).status).toBe(202);
      await until(() => simDoor(harness, 'A01').open, 3000, 'A01 open');
      await close(harness, 'A01');
      await until(async () => (await compartment(harness, 'A01')).door === 'closed', 3000, 'A01 closed');
    }
    expect(events(harness, 'door.opened')).toHaveLength(8);
    expect(events(harness, 'sensor.faulty')).toEqual([]);
    expect(await compartment(harness, 'A01')).toMatchObject({ state: 'empty' });
  });

  it('a switch stuck at "open" is found after hardware.stuckOpenMs, reported once, and the reminders stop', async () => {
    const harness = await start({ config: { hardware: { leftOpenMs: 150, stuckOpenMs: 1000 } } });
    await force(harness, 'C02');
    await sim(harness, '/sim/faults', { door: 'C02', fault: 'sensor-stuck' });
    await close(harness, 'C02'); // the door is shut; its switch still says open
    const stuck = await until(() => events(harness, 'sensor.stuck')[0], 4000, 'sensor.stuck');
    expect(stuck.data).toMatchObject({ compartment: 'C02', kind: 'stuck' });
    expect(stuck.data.openForSeconds).toBeGreaterThanOrEqual(1);
    expect(events(harness, 'door.left_open').length).toBeGreaterThan(0);
    expect(await compartment(harness, 'C02')).toMatchObject({ state: 'fault' });
    expect((await openAlarms(harness)).map((a) => a.kind).sort()).toEqual(['door-forced', 'sensor-stuck']);
    const reminders = events(harness, 'door.left_open').length;
    await sleep(600);
    expect(events(harness, 'door.left_open').length).toBe(reminders);
  });

  it('a switch stuck at "closed" during a pickup: the door opens but is never seen, so it counts as jammed and the applicant is sent to the window', async () => {
    const harness = await start();
    const ready = await readyCase(harness, 'STUCK-1', [{ type: 'invoice', barcode: 'STUCK-INV' }]);
    const [door] = ready.compartments;
    await sim(harness, '/sim/faults', { door, fault: 'sensor-stuck' });
    const pickup = await harness.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(pickup.json).toMatchObject({ result: 'opened' });
    await until(() => events(harness, 'door.jammed').length === 1, 5000, 'door.jammed');
    expect(simDoor(harness, door!)).toMatchObject({ open: true, latchPulses: 3 }); // one load, then a pulse and its retry
    const c = await compartment(harness, door!);
    expect(c.state).toBe('fault');
    expect((await openAlarms(harness)).map((a) => a.kind)).toEqual(['door-jammed']);
    expect(events(harness, 'pickup.interrupted')).toHaveLength(1);
  });
});
