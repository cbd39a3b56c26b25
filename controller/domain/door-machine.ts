import type { CompartmentService, DoorState, OpenPurpose, OpenState } from './types.ts';

// One compartment's door as a state machine: what the door is doing (phase), whether its switch is believed,
// and the switch's recent edges. `stepDoor` is pure: (door, event, facts, now) → (door, effects). The door
// service reads the facts, applies the effects (journal rows, events, pulses, the one timer) and keeps the
// new state. Nothing here knows SQLite, the board or a clock. Where the board has item-present sensors, the
// sensor is one more fact: a close hands what it saw to the open's purpose, an empty compartment that sees
// something is reported, and contents that move during an unlock the switch never saw tell a switch stuck
// shut from a jammed lock.

/** The timings that judge a door (`hardware.*` in the config). */
export interface DoorRules {
  /** A door nobody unlocked counts as opened only once it has stayed open this long (shorter: a glitch). */
  readonly minOpenMs: number;
  /** How long a pulsed door has to be seen open: then one more pulse, then "jammed". */
  readonly openTimeoutMs: number;
  /** A door open this long is reminded of, and again every `leftOpenMs` until it closes. */
  readonly leftOpenMs: number;
  /** A switch that has said "open" this long without a break is stuck. */
  readonly stuckOpenMs: number;
  /** This many changes within `withinMs`, with nobody opening the door, is a chattering switch. */
  readonly chatter: { readonly edges: number; readonly withinMs: number };
}

/** The open in progress on the compartment (the journal's row), as far as the door needs to know it. */
export interface OpenInProgress {
  readonly id: number;
  readonly state: OpenState;
  readonly purpose: OpenPurpose;
}

/** What the store and the board say when an event arrives: read afresh each time, never remembered here. */
export interface DoorFacts {
  /** The door as the store has it. */
  readonly recorded: DoorState;
  readonly service: CompartmentService;
  readonly active: OpenInProgress | null;
  /** What the switch says now (true: open); `null` while the board has not reported it. */
  readonly switchSays: boolean | null;
  readonly boardOnline: boolean;
  /** Absent where the board has no item sensors (Firmata, 8A/80): then nothing below about contents applies. */
  readonly items?: ItemFacts;
}

/** Where the board has item-present sensors (Kerong KR-CU's infrared bits): what it sees, and what the store expects. */
export interface ItemFacts {
  /** The sensor sees something in the compartment; `null` while the board has not reported it. */
  readonly seen: boolean | null;
  /** The compartment is bound to a case (its items are inside, or on the way in). */
  readonly bound: boolean;
  /** Already held for a clerk (an item left behind, something unexpected): not reported again until cleared. */
  readonly held: boolean;
}

/**
 * - `shut`: closed (or not yet known) and nothing awaited; no timer.
 * - `unlocking`: an open is being pulsed from a shut door; `watching` once the pulse is over and the open
 *   edge is awaited for `openTimeoutMs` (the timer).
 * - `unconfirmed`: opened with nobody unlocking it, not yet counted; the timer runs `minOpenMs`.
 * - `open`: counted open; the timer reminds every `leftOpenMs` (and finds a stuck switch).
 */
export type DoorPhase =
  | { readonly name: 'shut' }
  | {
    readonly name: 'unlocking'; readonly openId: number; readonly attempt: 1 | 2; readonly watching: boolean;
    /** With item sensors: what the sensor saw when the unlock began (contents that change behind a "shut" door mean it opened). */
    readonly itemBefore?: boolean | null;
  }
  | { readonly name: 'unconfirmed'; readonly since: number }
  | { readonly name: 'open'; readonly since: number; readonly reminders: number };

/**
 * `chatter`: changes faster than a door moves; `stuck`: says open for `stuckOpenMs`; `stuck-shut`: said shut
 * while the item sensor saw the contents change during an unlock (the door opened unseen). Without item sensors
 * a switch stuck shut cannot be told from a jammed lock.
 */
export type SwitchFault = 'chatter' | 'stuck' | 'stuck-shut';

export interface CompartmentDoor {
  readonly phase: DoorPhase;
  /** A switch that cannot be believed: its edges are ignored until ops put the compartment back in service. */
  readonly faultySwitch: SwitchFault | null;
  /** When the switch changed lately with nobody opening the door (for chatter). */
  readonly recentEdges: readonly number[];
}

export const shutDoor: CompartmentDoor = { phase: { name: 'shut' }, faultySwitch: null, recentEdges: [] };

/** How a pulse ended: the relay went on and off; the board was away (nothing energised); lost while energised. */
export type PulseOutcome = 'released' | 'not-energised' | 'lost-mid-pulse';

export type DoorEvent =
  /** A journaled open is to be pulsed now. */
  | { readonly type: 'unlock'; readonly openId: number }
  | { readonly type: 'pulse-ended'; readonly openId: number; readonly attempt: 1 | 2; readonly outcome: PulseOutcome }
  /** The switch changed (debounced). */
  | { readonly type: 'switch'; readonly open: boolean }
  /** The switch read afresh: at start, when the board or the database is back, after a repair. */
  | { readonly type: 'read' }
  /** The compartment's one timer fired. */
  | { readonly type: 'timer' }
  /** The item sensor changed (polled; item-sensor boards only). */
  | { readonly type: 'item'; readonly present: boolean }
  /** Judge the contents afresh, once a close and what its open's purpose made of it are written. */
  | { readonly type: 'contents' };

/**
 * How something was found in a compartment that should be empty: the sensor began to see it behind a shut door
 * (`appeared`), it was there when the sensor was read afresh (`read`: start-up, the board back, back in
 * service), or a door closed on it (`door-closed`: a forced or remote open, a retrieval that left something).
 */
export type UnexpectedItemFound = 'appeared' | 'read' | 'door-closed';

export type OpenFailure = 'jammed' | 'hardware-unavailable' | 'interrupted';

export type DoorEffect =
  /** The store's door changes, announced as `door.opened` / `door.closed`. */
  | { readonly type: 'record-door'; readonly door: 'open' | 'closed'; readonly purpose: OpenPurpose | null }
  /** The first reading of a door whose state was unknown: stored, not announced. */
  | { readonly type: 'learn-door'; readonly door: 'open' | 'closed' }
  | { readonly type: 'forced' }
  | { readonly type: 'glitch'; readonly openMs: number }
  | { readonly type: 'left-open'; readonly purpose: OpenPurpose | null; readonly openForSeconds: number; readonly reminder: number }
  | { readonly type: 'switch-faulty'; readonly kind: SwitchFault; readonly detail: Readonly<Record<string, number>> }
  | { readonly type: 'mark-pulsed'; readonly openId: number }
  | { readonly type: 'open-opened'; readonly openId: number }
  /** `itemSeen` (item-sensor boards only): what the item sensor said as the door closed; its purpose decides what that means. */
  | { readonly type: 'open-closed'; readonly openId: number; readonly itemSeen?: boolean | null }
  | { readonly type: 'open-failed'; readonly openId: number; readonly reason: OpenFailure }
  /** The switch went faulty under an open: ended for a clerk to check (the switch's alarm stands for it). */
  | { readonly type: 'open-interrupted'; readonly openId: number }
  /** Energise the lock, after the step's journal rows are written (never if they could not be). */
  | { readonly type: 'pulse'; readonly openId: number; readonly attempt: 1 | 2 }
  /** Set the compartment's one timer to fire after `afterMs`, replacing any; `null` cancels it. */
  | { readonly type: 'timer'; readonly afterMs: number | null }
  /** Read the switch afresh (a `read` event) once this step is written. */
  | { readonly type: 'read-switch' }
  /** An empty compartment in service sees something: held for a clerk, with an alarm. */
  | { readonly type: 'unexpected-item'; readonly found: UnexpectedItemFound }
  /** Judge the contents afresh (a `contents` event) once this step is written, on the facts it left. */
  | { readonly type: 'judge-contents' };

export interface DoorStep {
  readonly door: CompartmentDoor;
  readonly effects: readonly DoorEffect[];
}

const SHUT: DoorPhase = { name: 'shut' };
const stay = (door: CompartmentDoor): DoorStep => ({ door, effects: [] });
const timer = (afterMs: number | null): DoorEffect => ({ type: 'timer', afterMs });
const isPending = (state: OpenState | undefined) => state === 'journaled' || state === 'pulsed';
const hasTimer = (phase: DoorPhase) => phase.name === 'unconfirmed' || phase.name === 'open' || (phase.name === 'unlocking' && phase.watching);

export function stepDoor(door: CompartmentDoor, event: DoorEvent, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  const current = forgetSettledUnlock(door, facts);
  switch (event.type) {
    case 'unlock': return unlock(current, event.openId, facts);
    case 'pulse-ended': return pulseEnded(current, event, facts, now, rules);
    case 'switch': return switchMoved(current, event.open, facts, now, rules);
    case 'read': return readAfresh(current, facts, now, rules);
    case 'timer': return timerFired(current, facts, now, rules);
    case 'item': return itemChanged(current, facts);
    case 'contents': return current.faultySwitch || current.phase.name !== 'shut' ? stay(current) : { door: current, effects: unexpected(facts, 'door-closed') };
  }
}

/** An open settled elsewhere (restart reconciliation, a faulty switch) is no longer awaited. */
function forgetSettledUnlock(door: CompartmentDoor, facts: DoorFacts): CompartmentDoor {
  if (door.phase.name !== 'unlocking') return door;
  return facts.active?.id === door.phase.openId && isPending(facts.active.state) ? door : { ...door, phase: SHUT };
}

/** Only a journaled open is pulsed: one that was pulsed already never is again from here (its retry is the timer's). */
function unlock(door: CompartmentDoor, openId: number, facts: DoorFacts): DoorStep {
  if (facts.active?.id !== openId || facts.active.state !== 'journaled') return stay(door);
  // A door already open (a lying switch, or left open) keeps its phase: the pulse's end decides.
  const phase: DoorPhase = door.phase.name === 'shut' ? { name: 'unlocking', openId, attempt: 1, watching: false, ...itemBefore(facts) } : door.phase;
  return { door: { ...door, phase }, effects: [{ type: 'mark-pulsed', openId }, { type: 'pulse', openId, attempt: 1 }] };
}

function pulseEnded(door: CompartmentDoor, e: Extract<DoorEvent, { type: 'pulse-ended' }>, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  // Seen open during the pulse (its edge counted it), or settled meanwhile: nothing left to do.
  if (facts.active?.id !== e.openId || !isPending(facts.active.state)) return stay(door);
  if (e.outcome !== 'released') {
    const phase = door.phase.name === 'unlocking' ? SHUT : door.phase;
    return { door: { ...door, phase }, effects: [{ type: 'open-failed', openId: e.openId, reason: e.outcome === 'lost-mid-pulse' ? 'interrupted' : 'hardware-unavailable' }] };
  }
  if (facts.switchSays === true) return openAfterPulse(door, e.openId, facts, now, rules);
  const before = door.phase.name === 'unlocking' && door.phase.openId === e.openId && 'itemBefore' in door.phase ? { itemBefore: door.phase.itemBefore } : {};
  return { door: { ...door, phase: { name: 'unlocking', openId: e.openId, attempt: e.attempt, watching: true, ...before } }, effects: [timer(rules.openTimeoutMs)] };
}

/** Remembered at the unlock where the board has item sensors (and only there, so nothing changes without them). */
const itemBefore = (facts: DoorFacts): { itemBefore?: boolean | null } => (facts.items ? { itemBefore: facts.items.seen } : {});

/**
 * The switch says open once the pulse is over but gave no edge: it said so before (a lying switch, or a door
 * left open). The open counts, so nobody's items are locked in by a switch that lies.
 */
function openAfterPulse(door: CompartmentDoor, openId: number, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  if (door.faultySwitch) return { door: { ...door, phase: SHUT }, effects: [{ type: 'open-opened', openId }] };
  if (facts.recorded !== 'open') return count(door, true, facts, now, rules);
  if (door.phase.name === 'open') return { door, effects: [{ type: 'open-opened', openId }] };
  return { door: { ...door, phase: { name: 'open', since: now, reminders: 0 } }, effects: [{ type: 'open-opened', openId }, timer(rules.leftOpenMs)] };
}

/**
 * A switch edge, judged before it counts: a faulty switch is ignored (until the compartment is back in
 * service); edges nobody asked for count towards chatter; a door nobody unlocked waits `minOpenMs`.
 */
function switchMoved(door: CompartmentDoor, open: boolean, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  if (door.faultySwitch) {
    if (facts.service === 'fault') return stay(door);
    // Repaired and enabled: believed again, from what the switch says now (this edge itself is not judged).
    return { door: { ...door, faultySwitch: null, recentEdges: [] }, effects: [{ type: 'read-switch' }] };
  }
  let judged = door;
  // Only edges nobody asked for count: a door the cabinet is opening for a person moves as it should.
  if (!facts.active) {
    const recentEdges = [...door.recentEdges.filter((t) => now - t < rules.chatter.withinMs), now];
    judged = { ...door, recentEdges };
    if (recentEdges.length >= rules.chatter.edges) return switchFaulty(judged, 'chatter', { edges: rules.chatter.edges, withinMs: rules.chatter.withinMs }, facts);
  }
  if (judged.phase.name === 'unconfirmed') {
    if (open) return stay(judged);
    return { door: { ...judged, phase: SHUT }, effects: [{ type: 'glitch', openMs: Math.round(now - judged.phase.since) }, timer(null)] };
  }
  if (open && facts.recorded !== 'open' && rules.minOpenMs > 0 && !facts.active) {
    return { door: { ...judged, phase: { name: 'unconfirmed', since: now } }, effects: [timer(rules.minOpenMs)] };
  }
  return count(judged, open, facts, now, rules);
}

/**
 * The door counts as open (or shut) as the switch says: the store's door changes with its event, a door
 * nobody unlocked is forced, and the open in progress learns that its door opened or closed.
 */
function count(door: CompartmentDoor, open: boolean, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  const { active } = facts;
  const want = open ? 'open' : 'closed';
  const changes = facts.recorded !== want;
  const effects: DoorEffect[] = changes ? [{ type: 'record-door', door: want, purpose: active?.purpose ?? null }] : [];
  if (open) {
    // The forced-door alarm stays until ops acknowledge it, whatever the door does next.
    if (changes && !active) effects.push({ type: 'forced' });
    if (active && active.state !== 'opened') effects.push({ type: 'open-opened', openId: active.id });
    if (door.phase.name === 'open') return { door, effects };
    return { door: { ...door, phase: { name: 'open', since: now, reminders: 0 } }, effects: [...effects, timer(rules.leftOpenMs)] };
  }
  if (active?.state === 'opened') effects.push({ type: 'open-closed', openId: active.id, ...(facts.items ? { itemSeen: facts.items.seen } : {}) });
  // What the purpose made of the close (a case released, a load aborted) is written first; then the contents are judged.
  if (changes && facts.items) effects.push({ type: 'judge-contents' });
  // A pulse still running (or awaited) goes on waiting for its door.
  if (door.phase.name === 'unlocking') return { door, effects };
  return { door: { ...door, phase: SHUT }, effects: hasTimer(door.phase) ? [...effects, timer(null)] : effects };
}

/**
 * A switch that cannot be believed: the compartment goes out of service with an alarm, an open in progress
 * there (past its journal row) is interrupted for a clerk to check, and the timer stops (no more reminders).
 */
function switchFaulty(door: CompartmentDoor, kind: SwitchFault, detail: Record<string, number>, facts: DoorFacts): DoorStep {
  const effects: DoorEffect[] = [{ type: 'switch-faulty', kind, detail }];
  if (facts.active && facts.active.state !== 'journaled') effects.push({ type: 'open-interrupted', openId: facts.active.id });
  if (hasTimer(door.phase)) effects.push(timer(null));
  return { door: { ...door, phase: SHUT, faultySwitch: kind }, effects };
}

/** The switch read afresh counts at once (no `minOpenMs`, no chatter): the door may have moved long ago. */
function readAfresh(door: CompartmentDoor, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  if (door.faultySwitch) return stay(door);
  const says = facts.switchSays;
  if (says !== null && facts.recorded !== 'unknown' && (facts.recorded === 'open') !== says) return count(door, says, facts, now, rules);
  const effects: DoorEffect[] = says !== null && facts.recorded === 'unknown' ? [{ type: 'learn-door', door: says ? 'open' : 'closed' }] : [];
  const open = says ?? facts.recorded === 'open';
  // A pulse in progress settles its own door; a door nobody unlocked waits out its `minOpenMs`.
  if (door.phase.name === 'unlocking' || door.phase.name === 'unconfirmed' || (open && door.phase.name === 'open')) return { door, effects };
  if (open) return { door: { ...door, phase: { name: 'open', since: now, reminders: 0 } }, effects: [...effects, timer(rules.leftOpenMs)] };
  // Shut: whatever an empty compartment holds now is found here (at start-up, the board back, back in service).
  if (door.phase.name === 'open') return { door: { ...door, phase: SHUT }, effects: [...effects, timer(null), ...unexpected(facts, 'read')] };
  return { door, effects: [...effects, ...unexpected(facts, 'read')] };
}

function timerFired(door: CompartmentDoor, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  const { phase } = door;
  switch (phase.name) {
    case 'shut': return stay(door);
    case 'unlocking': {
      if (!phase.watching) return stay(door);
      // The contents changed although the switch never said open (a change whose own step was missed).
      if (contentsMoved(phase, facts)) return switchFaulty(door, 'stuck-shut', {}, facts);
      if (phase.attempt === 1) {
        return { door: { ...door, phase: { ...phase, attempt: 2, watching: false } }, effects: [{ type: 'mark-pulsed', openId: phase.openId }, { type: 'pulse', openId: phase.openId, attempt: 2 }] };
      }
      return { door: { ...door, phase: SHUT }, effects: [{ type: 'open-failed', openId: phase.openId, reason: 'jammed' }] };
    }
    case 'unconfirmed':
      // Shut again before anyone could have reached in, and its close edge was lost: nothing to count.
      if (facts.switchSays !== true) return { door: { ...door, phase: SHUT }, effects: [] };
      return count(door, true, facts, now, rules);
    case 'open': return remind(door, phase, facts, now, rules);
  }
}

/** `door.left_open` every `leftOpenMs`; a switch that has said open for `stuckOpenMs` is stuck instead. */
function remind(door: CompartmentDoor, phase: Extract<DoorPhase, { name: 'open' }>, facts: DoorFacts, now: number, rules: DoorRules): DoorStep {
  // While the board is away the door's state is unknown: no reminder, but keep watching.
  if (!facts.boardOnline) return { door, effects: [timer(rules.leftOpenMs)] };
  // Recorded shut by another way (a restart's reconciliation, a write that failed): nothing to remind of.
  if (facts.recorded !== 'open') return { door: { ...door, phase: SHUT }, effects: [] };
  const reminders = phase.reminders + 1;
  const openFor = now - phase.since;
  const counted: CompartmentDoor = { ...door, phase: { ...phase, reminders } };
  if (openFor >= rules.stuckOpenMs) return switchFaulty(counted, 'stuck', { openForSeconds: Math.round(openFor / 1000) }, facts);
  const reminder: DoorEffect = { type: 'left-open', purpose: facts.active?.purpose ?? null, openForSeconds: Math.round(openFor / 1000), reminder: reminders };
  return { door: counted, effects: [reminder, timer(rules.leftOpenMs)] };
}

/**
 * The item sensor changed. During an unlock that the switch has not seen open, the contents moved behind a
 * door the switch calls shut: the door did open, so the switch is stuck shut (not a jammed lock). Otherwise
 * something that appears in an empty, shut compartment is reported.
 */
function itemChanged(door: CompartmentDoor, facts: DoorFacts): DoorStep {
  if (door.faultySwitch || !facts.items) return stay(door);
  if (door.phase.name === 'unlocking' && facts.switchSays === false) return switchFaulty(door, 'stuck-shut', {}, facts);
  if (door.phase.name !== 'shut') return stay(door);
  return { door, effects: unexpected(facts, 'appeared') };
}

const contentsMoved = (phase: Extract<DoorPhase, { name: 'unlocking' }>, facts: DoorFacts): boolean =>
  facts.switchSays === false && phase.itemBefore != null && facts.items?.seen != null && phase.itemBefore !== facts.items.seen;

/**
 * An empty compartment (no case, in service, not already held) behind a shut door, with no open in progress,
 * whose sensor sees something: a foreign object, or an item somebody forgot.
 */
function unexpected(facts: DoorFacts, found: UnexpectedItemFound): DoorEffect[] {
  const { items } = facts;
  if (!items || items.seen !== true || items.bound || items.held) return [];
  if (facts.service !== 'in-service' || facts.active || facts.switchSays !== false || facts.recorded === 'open') return [];
  return [{ type: 'unexpected-item', found }];
}

/** What a restart (or the database writing again) makes of an open still in progress, from the switch alone. */
export type RestartVerdict = 'carries-on' | 'closed-meanwhile' | 'never-energised' | 'unverified';

/**
 * Never by pulsing again: a door seen open carries on (its close completes the open); one seen open before and
 * shut now was closed meanwhile; a journaled open whose relay was never energised simply did not happen; a
 * pulsed one whose door nobody saw open cannot be known.
 */
export function afterRestart(open: { readonly state: OpenState; readonly pulses: number }, switchSays: boolean | null): RestartVerdict {
  if (switchSays === true) return 'carries-on';
  if (switchSays === false && open.state === 'opened') return 'closed-meanwhile';
  // The pulse count goes up before the relay does.
  if (open.pulses === 0) return 'never-energised';
  return 'unverified';
}
