import { describe, expect, it } from 'vitest';
import { FleetState } from '../../admin-api/fleet/fleet-state.ts';
import type { EventPayload, StatusPayload } from '../../admin-api/fleet/payloads.ts';
import { SeqGaps } from '../../admin-api/fleet/seq-gaps.ts';

const BOOT_1 = 'boot-one';
const BOOT_2 = 'boot-two';
const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);

const online = (bootId = BOOT_1, counts = { total: 24, empty: 20, loaded: 3, fault: 0, disabled: 1 }): StatusPayload =>
  ({ online: true, bootId, ts: new Date(T0).toISOString(), version: '0.1.0', compartments: counts, hardware: 'ok', outbox: 0 });
const will = (bootId = BOOT_1): StatusPayload => ({ online: false, bootId });
const event = (seq: number, type = 'door.opened', data: Record<string, unknown> = {}, bootId = BOOT_1): EventPayload =>
  ({ seq, bootId, id: `e-${seq}`, ts: new Date(T0 + seq * 1000).toISOString(), type, data });

function fleet() {
  let now = T0;
  const state = new FleetState({ now: () => now });
  const changes: (string | null)[] = [];
  state.onChange((id) => changes.push(id));
  return { state, changes, advance: (ms: number) => (now += ms) };
}

describe('seq gaps', () => {
  it('a jump opens a gap; the missing events arriving late, out of order, shrink, split and close it', () => {
    const gaps = new SeqGaps();
    expect([1, 2, 3].map((s) => gaps.receive(s))).toEqual(['first', 'next', 'next']);
    expect(gaps.receive(9)).toBe('gap');
    expect(gaps.gaps).toEqual([[4, 8]]);
    expect(gaps.receive(6)).toBe('fill');
    expect(gaps.gaps).toEqual([[4, 5], [7, 8]]);
    expect(gaps.receive(8)).toBe('fill');
    expect(gaps.receive(4)).toBe('fill');
    expect(gaps.gaps).toEqual([[5, 5], [7, 7]]);
    expect(gaps.missing).toBe(2);
    expect(gaps.receive(7)).toBe('fill');
    expect(gaps.receive(5)).toBe('fill');
    expect(gaps.gaps).toEqual([]);
    expect(gaps.last).toBe(9);
  });

  it('a repeat (a seq already seen) is a duplicate and changes nothing', () => {
    const gaps = new SeqGaps();
    for (const s of [10, 11, 14]) gaps.receive(s);
    expect(gaps.receive(11)).toBe('duplicate');
    expect(gaps.receive(14)).toBe('duplicate');
    expect(gaps.receive(3)).toBe('duplicate');
    expect(gaps.gaps).toEqual([[12, 13]]);
    expect(gaps.last).toBe(14);
  });

  it('past its bound the two oldest gaps merge: memory stays bounded and no missing seq is hidden', () => {
    const gaps = new SeqGaps(3);
    gaps.receive(1);
    for (const s of [3, 5, 7, 9]) gaps.receive(s); // gaps 2, 4, 6, 8
    expect(gaps.gaps).toEqual([[2, 4], [6, 6], [8, 8]]);
    expect(gaps.receive(4)).toBe('fill');
    expect(gaps.gaps.length).toBeLessThanOrEqual(3);
    expect(gaps.gaps.some(([from, to]) => from <= 2 && 2 <= to)).toBe(true);
  });
});

describe('the fleet state', () => {
  it('a retained status puts the cabinet online with its counts, hardware and outbox', () => {
    const { state } = fleet();
    state.applyStatus('HALL-01', online());
    expect(state.get('HALL-01')).toMatchObject({ online: true, bootId: BOOT_1, compartments: { total: 24, loaded: 3 }, hardware: 'ok', outbox: 0, since: T0 });
    expect(state.summary()).toMatchObject({ cabinets: 1, online: 1, offline: 0 });
  });

  it('the last will marks the cabinet offline and keeps what it last reported', () => {
    const { state, advance } = fleet();
    state.applyStatus('HALL-01', online());
    advance(5000);
    expect(state.applyStatus('HALL-01', will())).toBe(true);
    expect(state.get('HALL-01')).toMatchObject({ online: false, since: T0 + 5000, compartments: { total: 24 } });
    expect(state.summary()).toMatchObject({ online: 0, offline: 1 });
  });

  it("an earlier boot's will, delivered after the cabinet came back, does not mark the new boot offline", () => {
    const { state } = fleet();
    state.applyStatus('HALL-01', online(BOOT_2));
    expect(state.applyStatus('HALL-01', will(BOOT_1))).toBe(false);
    expect(state.get('HALL-01')?.online).toBe(true);
    expect(state.applyStatus('HALL-01', will(BOOT_2))).toBe(true);
    expect(state.get('HALL-01')?.online).toBe(false);
  });

  it('a gap shows until the missing events arrive (out of order); duplicates are counted and ignored', () => {
    const { state } = fleet();
    for (const s of [1, 2, 6]) state.applyEvent('HALL-01', event(s));
    expect(state.get('HALL-01')).toMatchObject({ gaps: [[3, 5]], missing: 3, lastEvent: { seq: 6, type: 'door.opened' } });
    expect(state.applyEvent('HALL-01', event(4, 'door.closed'))).toBe('fill');
    expect(state.get('HALL-01')).toMatchObject({ gaps: [[3, 3], [5, 5]], missing: 2, lastEvent: { seq: 6 } });
    state.applyEvent('HALL-01', event(5));
    state.applyEvent('HALL-01', event(3));
    expect(state.get('HALL-01')).toMatchObject({ gaps: [], missing: 0 });
    expect(state.applyEvent('HALL-01', event(6))).toBe('duplicate');
    expect(state.applyEvent('HALL-01', event(2))).toBe('duplicate');
    expect(state.get('HALL-01')).toMatchObject({ duplicates: 2, lastEvent: { seq: 6 } });
  });

  it('a new bootId does not reset seq tracking: seq runs on across restarts, so a jump after one is still a gap', () => {
    const { state } = fleet();
    state.applyStatus('HALL-01', online(BOOT_1));
    for (const s of [1, 2, 3]) state.applyEvent('HALL-01', event(s, 'door.opened', {}, BOOT_1));
    state.applyStatus('HALL-01', will(BOOT_1));
    state.applyStatus('HALL-01', online(BOOT_2));
    expect(state.applyEvent('HALL-01', event(4, 'door.closed', {}, BOOT_2))).toBe('next');
    expect(state.applyEvent('HALL-01', event(7, 'door.closed', {}, BOOT_2))).toBe('gap');
    expect(state.applyEvent('HALL-01', event(2, 'door.opened', {}, BOOT_2))).toBe('duplicate');
    expect(state.get('HALL-01')).toMatchObject({ online: true, bootId: BOOT_2, gaps: [[5, 6]], duplicates: 1 });
  });

  it('alarms stay until acknowledged; routine events and a lockout without the alarm flag raise none', () => {
    const { state } = fleet();
    state.applyEvent('HALL-01', event(1, 'door.forced', { compartment: 'A03' }));
    state.applyEvent('HALL-01', event(2, 'door.closed'));
    state.applyEvent('HALL-01', event(3, 'pickup.lockout', { kind: 'lockout' }));
    state.applyEvent('HALL-01', event(4, 'pickup.lockout', { kind: 'daily-ceiling', alarm: true }));
    state.applyEvent('HALL-01', event(5, 'cmd.refused', { error: 'bad signature' }));
    expect(state.get('HALL-01')!.alarms.map((a) => [a.seq, a.type])).toEqual([[1, 'door.forced'], [4, 'pickup.lockout'], [5, 'cmd.refused']]);
    expect(state.ackAlarm('HALL-01', 4)).toBe(true);
    expect(state.ackAlarm('HALL-01', 4)).toBe(false);
    expect(state.ackAlarm('HALL-01', 2)).toBe(false);
    expect(state.get('HALL-01')!.alarms.map((a) => a.seq)).toEqual([1, 5]);
    expect(state.summary().alarms).toBe(2);
  });

  it('an alarm acknowledged at the cabinet leaves the monitor too; other alarms stay', () => {
    const { state } = fleet();
    state.applyEvent('HALL-01', event(1, 'door.forced', { compartment: 'A03', alarmId: 7 }));
    state.applyEvent('HALL-01', event(2, 'door.jammed', { compartment: 'B01', alarmId: 8 }));
    state.applyEvent('HALL-01', event(3, 'alarm.acknowledged', { alarmId: 7, kind: 'door-forced', by: 'ops:wang' }));
    expect(state.get('HALL-01')!.alarms.map((a) => a.seq)).toEqual([2]);
  });

  it('an alarm filling a gap takes its place in seq order; its repeat raises nothing', () => {
    const { state } = fleet();
    state.applyEvent('HALL-01', event(1, 'door.jammed'));
    state.applyEvent('HALL-01', event(4, 'hardware.lost'));
    state.applyEvent('HALL-01', event(2, 'door.unverified'));
    state.applyEvent('HALL-01', event(2, 'door.unverified'));
    expect(state.get('HALL-01')!.alarms.map((a) => a.seq)).toEqual([1, 2, 4]);
  });

  it('each cabinet keeps at most its bound of alarms and says how many it let go', () => {
    const state = new FleetState({ maxAlarmsPerCabinet: 3 });
    for (let s = 1; s <= 5; s++) state.applyEvent('HALL-01', event(s, 'door.forced'));
    expect(state.get('HALL-01')).toMatchObject({ alarmsDropped: 2 });
    expect(state.get('HALL-01')!.alarms.map((a) => a.seq)).toEqual([3, 4, 5]);
  });

  it('past maxCabinets new ids are counted, not tracked', () => {
    const state = new FleetState({ maxCabinets: 2 });
    for (const id of ['A', 'B', 'C', 'D', 'C']) state.applyStatus(id, online());
    expect(state.list().map((c) => c.id)).toEqual(['A', 'B']);
    expect(state.summary().untracked).toBe(2);
  });

  it("a replay's reply is kept only when it answers this cabinet's request", () => {
    const { state } = fleet();
    state.applyEvent('HALL-01', event(1));
    state.replayRequested('HALL-01', 'req-00000001', 2);
    expect(state.replyReceived('HALL-01', { requestId: 'someone-else', ok: true })).toBe(false);
    expect(state.replyReceived('HALL-01', { requestId: 'req-00000001', ok: true, result: { fromSeq: 2, firstKept: 5, lastSeq: 9 } })).toBe(true);
    expect(state.get('HALL-01')!.replay).toMatchObject({ outcome: 'done', detail: 'sending seq 5–9 again; seq 2–4 are no longer kept' });
  });

  it('listeners hear which cabinet changed; a cleared retained status removes the cabinet', () => {
    const { state, changes } = fleet();
    state.applyStatus('HALL-01', online());
    state.setBroker('connected');
    expect(state.forget('HALL-01')).toBe(true);
    expect(state.get('HALL-01')).toBeNull();
    expect(changes).toEqual(['HALL-01', null, 'HALL-01']);
  });
});
