import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, simDoor } from '../support/cabinet-steps.ts';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

type Alarm = { id: number; kind: string; compartment: string | null; acknowledgedBy: string | null };
const alarms = async (token: string): Promise<Alarm[]> => (await h!.call('GET', '/api/v1/alarms', undefined, token)).json;

describe('alarms stay until ops acknowledge them', () => {
  it('a door forced open raises an alarm that outlives the door closing; a clerk cannot acknowledge it, ops can, and the chain records it', async () => {
    h = await startHarness();
    const clerk = addUser(h, 'li', 'clerk');
    const ops = addUser(h, 'wang', 'ops');
    h.sim.model.force('B02');
    const [alarm] = await until(async () => {
      const open = await alarms(clerk);
      return open.length > 0 ? open : null;
    }, 3000, 'an alarm');
    expect(alarm).toMatchObject({ kind: 'door-forced', compartment: 'B02', acknowledgedBy: null });
    expect((await h.call('GET', '/api/v1/health', undefined, null)).json).toMatchObject({ status: 'ok', alarms: 1 });
    expect((await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^govlocker_alarms_open\{cabinet="DEMO-01"\} 1$/m);

    h.sim.model.close('B02');
    await until(async () => (await h!.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'B02').door === 'closed', 3000, 'door closed');
    expect((await alarms(clerk)).map((a) => a.id)).toEqual([alarm!.id]); // closing the door does not clear it

    const byClerk = await h.call('POST', `/api/v1/alarms/${alarm!.id}/ack`, { note: 'looked' }, clerk);
    expect(byClerk.status).toBe(403);
    expect(await alarms(ops)).toHaveLength(1);

    const byOps = await h.call('POST', `/api/v1/alarms/${alarm!.id}/ack`, { note: 'cleaner bumped it, contents checked' }, ops);
    expect(byOps.status).toBe(200);
    expect(byOps.json).toMatchObject({ id: alarm!.id, acknowledgedBy: 'ops:wang' });
    expect(await alarms(clerk)).toEqual([]);
    expect((await h.call('GET', '/api/v1/health', undefined, null)).json.alarms).toBe(0);
    expect((await h.call('POST', `/api/v1/alarms/${alarm!.id}/ack`, undefined, ops)).status).toBe(409);
    expect((await h.call('POST', '/api/v1/alarms/9999/ack', undefined, ops)).status).toBe(404);

    const audit = (await h.call('GET', '/api/v1/audit?limit=1000', undefined, ops)).json as { actor: string; action: string; data: Record<string, unknown> }[];
    expect(audit.find((a) => a.action === 'door.forced')?.data).toMatchObject({ compartment: 'B02', alarmId: alarm!.id });
    expect(audit.find((a) => a.action === 'alarm.acknowledged')).toMatchObject({ actor: 'ops:wang', data: { alarmId: alarm!.id, kind: 'door-forced', note: 'cleaner bumped it, contents checked' } });
    expect((await h.call('GET', '/api/v1/audit/verify', undefined, ops)).json.ok).toBe(true);
    expect(h.controller.cabinet.store.outbox.after(0, 5000).some((e) => e.type === 'alarm.acknowledged' && e.data.alarmId === alarm!.id)).toBe(true);
  });

  it('a jammed door and a remote open over the cap each leave an alarm for ops', async () => {
    h = await startHarness();
    const ops = addUser(h, 'wang', 'ops');
    h.sim.model.setFault('C01', 'jam');
    for (const id of ['C01', 'A02', 'A03']) expect((await h.call('POST', `/api/v1/compartments/${id}/open`, { reason: 'inspection' }, ops)).status).toBe(202);
    const refused = await h.call('POST', '/api/v1/compartments/A04/open', { reason: 'inspection' }, ops);
    expect(refused.status).toBe(409);
    expect(simDoor(h, 'A04').latchPulses).toBe(0);
    const open = await until(async () => {
      const list = await alarms(ops);
      return list.length === 2 ? list : null;
    }, 5000, 'two alarms');
    expect(open.map((a) => [a.kind, a.compartment]).sort()).toEqual([['door-jammed', 'C01'], ['remote-open-cap', 'A04']]);
  });
});
