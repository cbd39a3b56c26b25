import { describe, expect, it } from 'vitest';
import { afterRestart, shutDoor, stepDoor, type CompartmentDoor, type DoorEvent, type DoorFacts, type DoorRules, type OpenInProgress } from '../../controller/domain/door-machine.ts';
import type { OpenState } from '../../controller/domain/types.ts';

// One compartment's door, step by step, without timers, SQLite or a board: the facts each step would read
// from the store and the switch are given by hand, and the effects are what the door service would apply.

const rules: DoorRules = { minOpenMs: 200, openTimeoutMs: 2000, leftOpenMs: 120_000, stuckOpenMs: 3_600_000, chatter: { edges: 10, withinMs: 5000 } };

const facts = (over: Partial<DoorFacts> = {}): DoorFacts => ({ recorded: 'closed', service: 'in-service', active: null, switchSays: false, boardOnline: true, ...over });
const pickupOpen = (state: OpenState): OpenInProgress => ({ id: 7, state, purpose: 'pickup' });

const step = (door: CompartmentDoor, event: DoorEvent, seen: Partial<DoorFacts>, now: number, r: DoorRules = rules) => stepDoor(door, event, facts(seen), now, r);
const open = (since: number, reminders = 0): CompartmentDoor => ({ ...shutDoor, phase: { name: 'open', since, reminders } });

describe('a door nobody unlocked', () => {
  it('counts as opened only after minOpenMs, then as forced, with reminders from then on', () => {
    const blip = step(shutDoor, { type: 'switch', open: true }, {}, 1000);
    expect(blip.effects).toEqual([{ type: 'timer', afterMs: 200 }]);
    expect(blip.door.phase).toEqual({ name: 'unconfirmed', since: 1000 });

    const stayed = step(blip.door, { type: 'timer' }, { switchSays: true }, 1200);
    expect(stayed.effects).toEqual([
      { type: 'record-door', door: 'open', purpose: null },
      { type: 'forced' },
      { type: 'timer', afterMs: 120_000 },
    ]);
    expect(stayed.door.phase).toEqual({ name: 'open', since: 1200, reminders: 0 });
  });

  it('that shuts again before minOpenMs is a sensor glitch, not an open/close pair', () => {
    const blip = step(shutDoor, { type: 'switch', open: true }, {}, 1000);
    const shut = step(blip.door, { type: 'switch', open: false }, {}, 1030);
    expect(shut.effects).toEqual([{ type: 'glitch', openMs: 30 }, { type: 'timer', afterMs: null }]);
    expect(shut.door.phase).toEqual({ name: 'shut' });
  });

  it('that the switch shows shut when minOpenMs is over (its close edge lost) counts as nothing', () => {
    const blip = step(shutDoor, { type: 'switch', open: true }, {}, 1000);
    const later = step(blip.door, { type: 'timer' }, { switchSays: false }, 1200);
    expect(later.effects).toEqual([]);
    expect(later.door.phase.name).toBe('shut');
  });

  it('is forced at once when minOpenMs is 0', () => {
    const now = step(shutDoor, { type: 'switch', open: true }, {}, 1000, { ...rules, minOpenMs: 0 });
    expect(now.effects.map((e) => e.type)).toEqual(['record-door', 'forced', 'timer']);
  });

  it('found open when the switch is read afresh (start, board back) counts at once: the door may have opened long ago', () => {
    const found = step(shutDoor, { type: 'read' }, { switchSays: true }, 5000);
    expect(found.effects).toEqual([{ type: 'record-door', door: 'open', purpose: null }, { type: 'forced' }, { type: 'timer', afterMs: 120_000 }]);
  });
});

describe('a door the cabinet unlocks', () => {
  it('is pulsed once for its journaled open, and asking again for the same open pulses nothing', () => {
    const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: pickupOpen('journaled') }, 0);
    expect(asked.effects).toEqual([{ type: 'mark-pulsed', openId: 7 }, { type: 'pulse', openId: 7, attempt: 1 }]);
    expect(asked.door.phase).toEqual({ name: 'unlocking', openId: 7, attempt: 1, watching: false });
    expect(step(asked.door, { type: 'unlock', openId: 7 }, { active: pickupOpen('pulsed') }, 1).effects).toEqual([]);
    expect(step(shutDoor, { type: 'unlock', openId: 8 }, { active: pickupOpen('journaled') }, 0).effects).toEqual([]); // not this compartment's open
  });

  it('counts as opened at once when its pulse opens it: the open is told and nobody is alarmed', () => {
    const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: pickupOpen('journaled') }, 0);
    const opened = step(asked.door, { type: 'switch', open: true }, { active: pickupOpen('pulsed'), switchSays: true }, 5);
    expect(opened.effects).toEqual([
      { type: 'record-door', door: 'open', purpose: 'pickup' },
      { type: 'open-opened', openId: 7 },
      { type: 'timer', afterMs: 120_000 },
    ]);
    // The pulse ends after the edge counted it: nothing more to do.
    const ended = step(opened.door, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'released' }, { recorded: 'open', active: pickupOpen('opened'), switchSays: true }, 6);
    expect(ended).toEqual({ door: opened.door, effects: [] });
  });

  it('not seen open after its pulse is pulsed once more, then reported jammed: two pulses, never a third', () => {
    let door = step(shutDoor, { type: 'unlock', openId: 7 }, { active: pickupOpen('journaled') }, 0).door;
    const pulses: unknown[] = [{ type: 'pulse', openId: 7, attempt: 1 }];
    const first = step(door, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'released' }, { active: pickupOpen('pulsed') }, 40);
    expect(first.effects).toEqual([{ type: 'timer', afterMs: 2000 }]);
    const retry = step(first.door, { type: 'timer' }, { active: pickupOpen('pulsed') }, 2040);
    expect(retry.effects).toEqual([{ type: 'mark-pulsed', openId: 7 }, { type: 'pulse', openId: 7, attempt: 2 }]);
    pulses.push(retry.effects[1]);
    const second = step(retry.door, { type: 'pulse-ended', openId: 7, attempt: 2, outcome: 'released' }, { active: pickupOpen('pulsed') }, 2080);
    expect(second.effects).toEqual([{ type: 'timer', afterMs: 2000 }]);
    const jammed = step(second.door, { type: 'timer' }, { active: pickupOpen('pulsed') }, 4080);
    expect(jammed.effects).toEqual([{ type: 'open-failed', openId: 7, reason: 'jammed' }]);
    door = jammed.door;
    expect(door.phase.name).toBe('shut');
    expect(step(door, { type: 'timer' }, { active: pickupOpen('pulsed') }, 6080).effects).toEqual([]);
    expect(pulses).toHaveLength(2);
  });

  it('whose switch said open before the pulse (a lying switch) gets the full pulse, and its open counts when the pulse is over', () => {
    const found = step(shutDoor, { type: 'read' }, { recorded: 'open', switchSays: true }, 0).door;
    const asked = step(found, { type: 'unlock', openId: 7 }, { recorded: 'open', switchSays: true, active: pickupOpen('journaled') }, 10);
    expect(asked.effects.map((e) => e.type)).toEqual(['mark-pulsed', 'pulse']);
    expect(asked.door.phase.name).toBe('open'); // the reminders keep running
    const ended = step(asked.door, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'released' }, { recorded: 'open', switchSays: true, active: pickupOpen('pulsed') }, 50);
    expect(ended.effects).toEqual([{ type: 'open-opened', openId: 7 }]);
  });

  it('loses its open plainly when the board was away (nothing energised), and for a clerk to check when lost mid-pulse', () => {
    const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: pickupOpen('journaled') }, 0).door;
    expect(step(asked, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'not-energised' }, { active: pickupOpen('pulsed') }, 1).effects)
      .toEqual([{ type: 'open-failed', openId: 7, reason: 'hardware-unavailable' }]);
    const lost = step(asked, { type: 'pulse-ended', openId: 7, attempt: 1, outcome: 'lost-mid-pulse' }, { active: pickupOpen('pulsed'), boardOnline: false }, 1);
    expect(lost.effects).toEqual([{ type: 'open-failed', openId: 7, reason: 'interrupted' }]);
    expect(lost.door.phase.name).toBe('shut');
  });

  it('completes its open when it closes, and the reminders stop', () => {
    const closed = step(open(0), { type: 'switch', open: false }, { recorded: 'open', active: pickupOpen('opened') }, 30_000);
    expect(closed.effects).toEqual([
      { type: 'record-door', door: 'closed', purpose: 'pickup' },
      { type: 'open-closed', openId: 7 },
      { type: 'timer', afterMs: null },
    ]);
    expect(closed.door.phase.name).toBe('shut');
  });

  it('no longer waits for an open settled elsewhere (a restart, a faulty switch): its old timer does nothing', () => {
    const watching: CompartmentDoor = { ...shutDoor, phase: { name: 'unlocking', openId: 7, attempt: 1, watching: true } };
    const fired = step(watching, { type: 'timer' }, { active: null }, 2000);
    expect(fired.effects).toEqual([]);
    expect(fired.door.phase.name).toBe('shut');
  });
});

describe('a door left open', () => {
  it('is reminded of every leftOpenMs with its purpose and a running count', () => {
    const first = step(open(0), { type: 'timer' }, { recorded: 'open', switchSays: true, active: pickupOpen('opened') }, 120_000);
    expect(first.effects).toEqual([
      { type: 'left-open', purpose: 'pickup', openForSeconds: 120, reminder: 1 },
      { type: 'timer', afterMs: 120_000 },
    ]);
    const second = step(first.door, { type: 'timer' }, { recorded: 'open', switchSays: true }, 240_000);
    expect(second.effects[0]).toEqual({ type: 'left-open', purpose: null, openForSeconds: 240, reminder: 2 });
  });

  it('is not reminded of while the board is away, but is still watched', () => {
    const away = step(open(0), { type: 'timer' }, { recorded: 'open', switchSays: true, boardOnline: false }, 120_000);
    expect(away.effects).toEqual([{ type: 'timer', afterMs: 120_000 }]);
    expect(away.door).toEqual(open(0));
  });

  it('for stuckOpenMs means a stuck switch: the compartment is faulted, its open interrupted, and the reminders stop', () => {
    const stuck = step(open(0, 29), { type: 'timer' }, { recorded: 'open', switchSays: true, active: pickupOpen('opened') }, 3_600_000);
    expect(stuck.effects).toEqual([
      { type: 'switch-faulty', kind: 'stuck', detail: { openForSeconds: 3600 } },
      { type: 'open-interrupted', openId: 7 },
      { type: 'timer', afterMs: null },
    ]);
    expect(stuck.door).toMatchObject({ phase: { name: 'shut' }, faultySwitch: 'stuck' });
  });
});

describe('a door switch that chatters', () => {
  const flap = (from: CompartmentDoor, edges: number, seen: Partial<DoorFacts>, start = 0) => {
    let door = from;
    const effects: string[] = [];
    for (let i = 0; i < edges; i++) {
      const s = step(door, { type: 'switch', open: i % 2 === 0 }, seen, start + i * 30);
      door = s.door;
      effects.push(...s.effects.map((e) => e.type));
    }
    return { door, effects };
  };

  it('is faulty at its tenth change within five seconds when nobody is opening the door, reported once, then ignored while in fault', () => {
    const { door, effects } = flap(shutDoor, 10, {});
    expect(effects.filter((e) => e === 'switch-faulty')).toHaveLength(1);
    expect(effects).not.toContain('forced');
    expect(door.faultySwitch).toBe('chatter');
    expect(flap(door, 20, { service: 'fault' }).effects).toEqual([]);
  });

  it('is not what a door the cabinet is opening does, however fast it moves', () => {
    expect(flap(shutDoor, 30, { active: pickupOpen('opened') }).effects).not.toContain('switch-faulty');
  });

  it('is believed again once its compartment is back in service, from what it says now', () => {
    const faulty = flap(shutDoor, 10, {}).door;
    const repaired = step(faulty, { type: 'switch', open: true }, { service: 'in-service' }, 60_000);
    expect(repaired.effects).toEqual([{ type: 'read-switch' }]);
    expect(repaired.door).toEqual({ ...faulty, faultySwitch: null, recentEdges: [] });
    const read = step(repaired.door, { type: 'read' }, { switchSays: true }, 60_001);
    expect(read.effects.map((e) => e.type)).toEqual(['record-door', 'forced', 'timer']);
  });

  it('is not read afresh while it is not believed', () => {
    const faulty = flap(shutDoor, 10, {}).door;
    expect(step(faulty, { type: 'read' }, { switchSays: true, service: 'fault' }, 60_000).effects).toEqual([]);
  });
});

describe('a switch read afresh', () => {
  it('stores the first reading of a door whose state was unknown, without announcing it, and watches a door found open', () => {
    expect(step(shutDoor, { type: 'read' }, { recorded: 'unknown', switchSays: false }, 0).effects).toEqual([{ type: 'learn-door', door: 'closed' }]);
    expect(step(shutDoor, { type: 'read' }, { recorded: 'unknown', switchSays: true }, 0).effects).toEqual([{ type: 'learn-door', door: 'open' }, { type: 'timer', afterMs: 120_000 }]);
  });

  it('leaves a pulse in progress to settle its own door', () => {
    const asked = step(shutDoor, { type: 'unlock', openId: 7 }, { active: pickupOpen('journaled') }, 0).door;
    expect(step(asked, { type: 'read' }, { active: pickupOpen('pulsed') }, 1)).toEqual({ door: asked, effects: [] });
  });
});

describe('after a restart, an open still in progress is settled from its switch, never by pulsing again', () => {
  it('a door found open carries on; one shut meanwhile completes; one never energised did not happen; a pulse nobody saw open cannot be known', () => {
    expect(afterRestart({ state: 'pulsed', pulses: 1 }, true)).toBe('carries-on');
    expect(afterRestart({ state: 'opened', pulses: 1 }, false)).toBe('closed-meanwhile');
    expect(afterRestart({ state: 'journaled', pulses: 0 }, false)).toBe('never-energised');
    expect(afterRestart({ state: 'pulsed', pulses: 2 }, false)).toBe('unverified');
    expect(afterRestart({ state: 'pulsed', pulses: 1 }, null)).toBe('unverified'); // no board: nobody can tell
  });
});
