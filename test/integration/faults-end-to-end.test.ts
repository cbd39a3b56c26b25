import { afterEach, describe, expect, it } from 'vitest';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';
import { openSseStream, type SseReader } from '../support/sse-reader.ts';

// Each fault as a person (or a broken part) causes it: through the simulator's control API (CONTRACT §5),
// reaching the controller over the real Firmata/TCP wire; asserted where a user sees it: the event, the
// kiosk's words, the compartment, /health.

let h: Harness | null = null;
let kiosk: SseReader | null = null;
afterEach(async () => {
  kiosk?.close();
  kiosk = null;
  await h?.stop();
  h = null;
});

async function person(harness: Harness, path: string, body: unknown = {}): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${harness.sim.ports.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, `${path}: ${await r.text()}`).toBe(200);
}
const eventsOf = (harness: Harness, type: string) => harness.controller.cabinet.store.outbox.after(0, 10_000).filter((e) => e.type === type);
const compartment = async (harness: Harness, id: string) => (await harness.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id);
const health = async (harness: Harness) => (await harness.call('GET', '/api/v1/health', undefined, null)).json;
const pickup = (harness: Harness, code: string) => harness.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);

describe('faults injected through the simulator control API, end to end', () => {
  it('a jammed lock: pulse, one retry, door.jammed, the compartment in fault, the kiosk sends the applicant to the window, the case waits for a clerk', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'E2E-JAM', [{ type: 'seal', barcode: 'E2E-JAM-SEAL', label: '公章' }]);
    const [door] = ready.compartments;
    kiosk = await openSseStream(`http://127.0.0.1:${h.controller.apiPort}/api/v1/kiosk/events`);
    await person(h, '/sim/faults', { door, fault: 'jam' });
    expect((await pickup(h, ready.code)).json).toMatchObject({ result: 'opened', compartments: [door] });

    const denied = await kiosk.next((f) => f.event === 'denied', 5000, 'the kiosk told');
    expect(JSON.parse(denied.data)).toMatchObject({ reason: 'out-of-service', cause: 'jammed', window: h.controller.cabinet.config.policy.helpWindow });
    expect(eventsOf(h, 'door.jammed').map((e) => e.data)).toEqual([expect.objectContaining({ compartment: door, purpose: 'pickup' })]);
    expect(simDoor(h, door!)).toMatchObject({ open: false, latchPulses: 3 }); // the load's pulse, then a pulse and its retry
    expect(await compartment(h, door!)).toMatchObject({ state: 'fault' });
    expect((await h.call('GET', '/api/v1/cases/E2E-JAM')).json.state).toBe('ready');
    expect((await h.call('GET', '/api/v1/alarms')).json.map((a: { kind: string }) => a.kind)).toEqual(['door-jammed']);
  });

  it('the board cable pulled: hardware.lost, pickups refused in plain words, /health degraded; restored: hardware.restored and the code works', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'E2E-CABLE', [{ type: 'invoice', barcode: 'E2E-CABLE-INV' }]);
    await person(h, '/sim/board/disconnect');
    await until(async () => (await health(h!)).hardware === 'lost', 5000, 'hardware lost');
    expect(await health(h)).toMatchObject({ status: 'degraded', hardware: 'lost' });
    expect(eventsOf(h, 'hardware.lost')).toHaveLength(1);
    expect((await pickup(h, ready.code)).json).toMatchObject({ result: 'denied', reason: 'out-of-service', cause: 'board-offline' });
    expect((await h.call('POST', '/api/v1/loads', { barcode: 'E2E-CABLE-INV' })).status).toBeGreaterThanOrEqual(400);

    await person(h, '/sim/board/connect');
    await until(async () => (await health(h!)).hardware === 'ok', 10_000, 'hardware back');
    expect(eventsOf(h, 'hardware.restored')).toHaveLength(1);
    expect((await pickup(h, ready.code)).json).toMatchObject({ result: 'opened' });
    await until(() => simDoor(h!, ready.compartments[0]!).open, 3000, 'door open');
  });

  it('a door forced open and left open: door.forced with an alarm, then door.left_open reminders until it is closed', async () => {
    h = await startHarness({ config: { hardware: { leftOpenMs: 300 } } });
    await person(h, '/sim/doors/B06/force');
    await until(() => eventsOf(h!, 'door.forced').length === 1, 3000, 'door.forced');
    await until(() => eventsOf(h!, 'door.left_open').length >= 2, 3000, 'two reminders');
    await person(h, '/sim/doors/B06/close');
    await until(async () => (await compartment(h!, 'B06')).door === 'closed', 3000, 'closed');
    const reminders = eventsOf(h, 'door.left_open').length;
    await new Promise((r) => setTimeout(r, 700));
    expect(eventsOf(h, 'door.left_open').length).toBe(reminders);
    expect((await h.call('GET', '/api/v1/alarms')).json.map((a: { kind: string; compartment: string }) => [a.kind, a.compartment])).toEqual([['door-forced', 'B06']]);
  });
});
