import { describe, expect, it } from 'vitest';
import { allocate, type AllocatableCompartment } from '../../controller/domain/allocation.ts';
import { shutDoor, stepDoor, type CompartmentDoor, type DoorEvent, type DoorFacts, type DoorRules, type ItemFacts, type OpenInProgress } from '../../controller/domain/door-machine.ts';
import { compartmentState, type OpenPurpose, type OpenState } from '../../controller/domain/types.ts';

// The door machine where the board has item-present sensors (Kerong's infrared bits): the sensor is one more
// fact, read afresh at each step. A close carries what it saw to the open's purpose; an empty compartment that
// sees something is reported; contents that change behind a switch saying "shut" during an unlock mean the
// switch is stuck shut, not the lock jammed. Without the sensor (no `items` fact) nothing of this happens.

const rules: DoorRules = { minOpenMs: 200, openTimeoutMs: 2000, leftOpenMs: 120_000, stuckOpenMs: 3_600_000, chatter: { edges: 10, withinMs: 5000 } };

const items = (over: Partial<ItemFacts> = {}): ItemFacts => ({ seen: false, bound: false, held: false, ...over });
const facts = (over: Partial<DoorFacts> = {}): DoorFacts => ({ recorded: 'closed', service: 'in-service', active: null, switchSays: false, boardOnline: true, items: items(), ...over });
const anOpen = (state: OpenState, purpose: OpenPurpose = 'pickup'): OpenInProgress => ({ id: 7, state, purpose });
const step = (door: CompartmentDoor, event: DoorEvent, seen: Partial<DoorFacts>, now: number) => stepDoor(door, event, facts(seen), now, rules);
const open = (since = 0): CompartmentDoor => ({ ...shutDoor, phase: { name: 'open', since, reminders: 0 } });

/** Unlocked from shut with the sensor seeing `before`, its first pulse over and nothing seen open. */
function watching(before: boolean | null, purpose: OpenPurpose = 'pickup'): CompartmentDoor {
  const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: anOpen('journaled', purpose), items: items({ seen: before, bound: true }) }, 0);
  expect(asked.door.phase).toEqual({ name: 'unlocking', openId: 7, attempt: 1, watching: false, itemBefore: before });
  const ended = step(asked.door, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'released' }, { active: anOpen('pulsed', purpose), items: items({ seen: before, bound: true }) }, 40);
  expect(ended.door.phase).toEqual({ name: 'unlocking', openId: 7, attempt: 1, watching: true, itemBefore: before });
  return ended.door;
}

describe('a door closing on an open, with an item sensor', () => {
  it('hands what the sensor saw to the open (a load commits on "seen", aborts on "not seen"), then has the contents judged', () => {
    const withItem = step(open(), { type: 'switch', open: false }, { recorded: 'open', active: anOpen('opened', 'load'), items: items({ seen: true, bound: true }) }, 30_000);
    expect(withItem.effects).toEqual([
      { type: 'record-door', door: 'closed', purpose: 'load' },
      { type: 'open-closed', openId: 7, itemSeen: true },
      { type: 'judge-contents' },
      { type: 'timer', afterMs: null },
    ]);
    const empty = step(open(), { type: 'switch', open: false }, { recorded: 'open', active: anOpen('opened', 'load'), items: items({ seen: false, bound: true }) }, 30_000);
    expect(empty.effects).toContainEqual({ type: 'open-closed', openId: 7, itemSeen: false });
    // A sensor the board has not reported yet says nothing either way.
    const unknown = step(open(), { type: 'switch', open: false }, { recorded: 'open', active: anOpen('opened', 'load'), items: items({ seen: null, bound: true }) }, 30_000);
    expect(unknown.effects).toContainEqual({ type: 'open-closed', openId: 7, itemSeen: null });
  });

  it('without an item sensor closes exactly as before: no itemSeen, nothing judged', () => {
    const closed = step(open(), { type: 'switch', open: false }, { recorded: 'open', active: anOpen('opened', 'load'), items: undefined }, 30_000);
    expect(closed.effects).toEqual([
      { type: 'record-door', door: 'closed', purpose: 'load' },
      { type: 'open-closed', openId: 7 },
      { type: 'timer', afterMs: null },
    ]);
  });

  it('a forced door closing has its contents judged too', () => {
    const closed = step(open(), { type: 'switch', open: false }, { recorded: 'open', items: items({ seen: true }) }, 30_000);
    expect(closed.effects).toEqual([{ type: 'record-door', door: 'closed', purpose: null }, { type: 'judge-contents' }, { type: 'timer', afterMs: null }]);
  });
});

describe('an empty compartment whose item sensor sees something', () => {
  it('is reported when the sensor starts seeing it behind a shut door', () => {
    expect(step(shutDoor, { type: 'item', present: true }, { items: items({ seen: true }) }, 5).effects).toEqual([{ type: 'unexpected-item', found: 'appeared' }]);
  });

  it('is not what a bound, held, busy, open, out-of-service or emptied compartment shows', () => {
    const quiet = (over: Partial<DoorFacts>, present = true) => step(shutDoor, { type: 'item', present }, { items: items({ seen: present }), ...over }, 5).effects;
    expect(quiet({ items: items({ seen: true, bound: true }) })).toEqual([]); // a case's items are in there
    expect(quiet({ items: items({ seen: true, held: true }) })).toEqual([]); // already reported, not yet cleared
    expect(quiet({ active: anOpen('journaled', 'load') })).toEqual([]); // a load is about to open it
    expect(quiet({ recorded: 'open', switchSays: true })).toEqual([]); // judged when it closes
    expect(quiet({ service: 'fault' })).toEqual([]);
    expect(quiet({ service: 'disabled' })).toEqual([]);
    expect(quiet({}, false)).toEqual([]); // something taken out
    expect(step(open(), { type: 'item', present: true }, { recorded: 'open', switchSays: true, items: items({ seen: true }) }, 5).effects).toEqual([]);
  });

  it('is found when the sensor is read afresh (start-up, the board back, back in service), whether the door was known or not', () => {
    expect(step(shutDoor, { type: 'read' }, { items: items({ seen: true }) }, 0).effects).toEqual([{ type: 'unexpected-item', found: 'read' }]);
    expect(step(shutDoor, { type: 'read' }, { recorded: 'unknown', items: items({ seen: true }) }, 0).effects)
      .toEqual([{ type: 'learn-door', door: 'closed' }, { type: 'unexpected-item', found: 'read' }]);
    expect(step(shutDoor, { type: 'read' }, { items: items({ seen: false }) }, 0).effects).toEqual([]);
    expect(step(shutDoor, { type: 'read' }, { items: items({ seen: null }) }, 0).effects).toEqual([]);
    expect(step(shutDoor, { type: 'read' }, { items: undefined }, 0).effects).toEqual([]);
  });

  it('is found when a door closed on it, once what the close meant is written (a retrieval released the case, a remote open)', () => {
    expect(step(shutDoor, { type: 'contents' }, { items: items({ seen: true }) }, 0).effects).toEqual([{ type: 'unexpected-item', found: 'door-closed' }]);
    expect(step(shutDoor, { type: 'contents' }, { items: items({ seen: true, bound: true }) }, 0).effects).toEqual([]);
    expect(step(shutDoor, { type: 'contents' }, { items: items({ seen: false }) }, 0).effects).toEqual([]);
    expect(step(open(), { type: 'contents' }, { recorded: 'open', switchSays: true, items: items({ seen: true }) }, 0).effects).toEqual([]);
  });
});

describe('a door switch stuck shut, told from a jammed lock by the item sensor', () => {
  it('is stuck shut when the contents change during an unlock the switch never saw open: out of service, the open interrupted, no retry', () => {
    const door = watching(true);
    const taken = step(door, { type: 'item', present: false }, { active: anOpen('pulsed'), items: items({ seen: false, bound: true }) }, 500);
    expect(taken.effects).toEqual([
      { type: 'switch-faulty', kind: 'stuck-shut', detail: {} },
      { type: 'open-interrupted', openId: 7 },
      { type: 'timer', afterMs: null },
    ]);
    expect(taken.door).toMatchObject({ phase: { name: 'shut' }, faultySwitch: 'stuck-shut' });
    // Not believed while in fault: a timer or an edge does nothing.
    expect(step(taken.door, { type: 'timer' }, { service: 'fault' }, 2040).effects).toEqual([]);
    expect(step(taken.door, { type: 'switch', open: true }, { service: 'fault' }, 2100).effects).toEqual([]);
  });

  it('is found during the pulse itself too, and for a load (an item put in behind a "shut" door)', () => {
    const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: anOpen('journaled', 'load'), items: items({ seen: false, bound: true }) }, 0);
    const put = step(asked.door, { type: 'item', present: true }, { active: anOpen('pulsed', 'load'), items: items({ seen: true, bound: true }) }, 100);
    expect(put.effects.map((e) => e.type)).toEqual(['switch-faulty', 'open-interrupted']);
  });

  it('is stuck shut at the pulse\'s timeout when the contents differ from the unlock\'s, even if the change itself went unstepped', () => {
    const door = watching(true);
    const timedOut = step(door, { type: 'timer' }, { active: anOpen('pulsed'), items: items({ seen: false, bound: true }) }, 2040);
    expect(timedOut.effects).toEqual([
      { type: 'switch-faulty', kind: 'stuck-shut', detail: {} },
      { type: 'open-interrupted', openId: 7 },
      { type: 'timer', afterMs: null },
    ]);
  });

  it('stays a jammed lock when the contents did not change: a retry, then jammed', () => {
    const door = watching(true);
    const retry = step(door, { type: 'timer' }, { active: anOpen('pulsed'), items: items({ seen: true, bound: true }) }, 2040);
    expect(retry.effects).toEqual([{ type: 'mark-pulsed', openId: 7 }, { type: 'pulse', openId: 7, attempt: 2 }]);
    expect(retry.door.phase).toMatchObject({ attempt: 2, itemBefore: true });
    const second = step(retry.door, { type: 'pulse-ended', openId: 7, attempt: 2, outcome: 'released' }, { active: anOpen('pulsed'), items: items({ seen: true, bound: true }) }, 2080);
    expect(second.door.phase).toMatchObject({ attempt: 2, watching: true, itemBefore: true });
    const jammed = step(second.door, { type: 'timer' }, { active: anOpen('pulsed'), items: items({ seen: true, bound: true }) }, 4080);
    expect(jammed.effects).toEqual([{ type: 'open-failed', openId: 7, reason: 'jammed' }]);
    // An unknown reading proves nothing either.
    const unknown = watching(null);
    expect(step(unknown, { type: 'timer' }, { active: anOpen('pulsed'), items: items({ seen: false, bound: true }) }, 2040).effects.map((e) => e.type)).toEqual(['mark-pulsed', 'pulse']);
  });

  it('is no fault when the switch did see the door open: its items come and go as they should', () => {
    const door = watching(true);
    const opened = step(door, { type: 'switch', open: true }, { active: anOpen('pulsed'), switchSays: true, items: items({ seen: true, bound: true }) }, 100);
    expect(opened.door.phase.name).toBe('open');
    expect(step(opened.door, { type: 'item', present: false }, { recorded: 'open', switchSays: true, active: anOpen('opened'), items: items({ seen: false, bound: true }) }, 300).effects).toEqual([]);
  });

  it('without an item sensor nothing changes: no itemBefore, and an item event does nothing', () => {
    const asked = stepDoor(shutDoor, { type: 'unlock', openId: 7 }, facts({ active: anOpen('journaled'), items: undefined }), 0, rules);
    expect(asked.door.phase).toEqual({ name: 'unlocking', openId: 7, attempt: 1, watching: false });
    expect(stepDoor(asked.door, { type: 'item', present: true }, facts({ active: anOpen('pulsed'), items: undefined }), 5, rules).effects).toEqual([]);
  });
});

describe('a compartment held for a clerk', () => {
  const row = (over: Partial<AllocatableCompartment>): AllocatableCompartment => ({ id: 'A01', size: 'S', usedVolume: 0, caseNo: null, available: true, ...over });

  it('is never chosen for a new load until cleared', () => {
    const cabinet = [row({ id: 'A01', held: true }), row({ id: 'A02' })];
    expect(allocate('seal', [], 'C-1', cabinet)).toEqual({ ok: true, compartmentId: 'A02', reused: false });
    expect(allocate('seal', [], 'C-1', [row({ id: 'A01', held: true })])).toEqual({ ok: false, neededSize: 'S' });
    expect(allocate('seal', [], 'C-1', [row({ id: 'A01', held: false })])).toMatchObject({ ok: true, compartmentId: 'A01' });
  });

  it('shows as fault to a person, unless disabled', () => {
    const base = { service: 'in-service' as const, door: 'closed' as const, caseNo: null, loadedItems: 0 };
    expect(compartmentState({ ...base, hold: 'item-left' })).toBe('fault');
    expect(compartmentState({ ...base, hold: 'unexpected-item' })).toBe('fault');
    expect(compartmentState({ ...base, hold: null })).toBe('empty');
    expect(compartmentState({ ...base, service: 'disabled', hold: 'item-left' })).toBe('disabled');
  });
});
