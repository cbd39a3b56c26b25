import { afterRestart, type DoorEffect } from '../domain/door-machine.ts';
import type { OpenPurpose, OpenState } from '../domain/types.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import { holdForClerk, raiseAlarm } from './alarms.ts';
import type { ServiceContext } from './context.ts';

/**
 * What each purpose (load, pickup, retrieve, remote) does as its doors move. Runs inside the edge's change.
 * `closed` gets the open with `itemAtClose`: what the item sensor said as the door closed (`null` without one).
 */
export interface OpenHandlers {
  opened(ctx: ChangeContext, open: OpenRow): void;
  closed(ctx: ChangeContext, open: OpenRow): void;
  /**
   * `hardware-unavailable`: nothing was energised; `interrupted`: the relay may have fired but nobody saw the
   * door (a restart, or the board lost mid-pulse), so the contents are uncertain; `jammed`: pulsed twice, shut.
   */
  failed(ctx: ChangeContext, open: OpenRow, reason: 'jammed' | 'hardware-unavailable' | 'interrupted'): void;
}

/** The effects of a door's step that the store records, all inside the step's one change. */
export type JournalEffect = Exclude<DoorEffect, { type: 'pulse' } | { type: 'timer' } | { type: 'read-switch' } | { type: 'judge-contents' }>;

export const isJournalEffect = (e: DoorEffect): e is JournalEffect => e.type !== 'pulse' && e.type !== 'timer' && e.type !== 'read-switch' && e.type !== 'judge-contents';

const isPending = (state: OpenState) => state === 'journaled' || state === 'pulsed';

const SWITCH_NOTES = {
  chatter: 'door switch faulty: it changes faster than a door can move; check the switch and its wiring, then enable',
  stuck: 'door switch stuck: it has reported the door open for too long; check the door and its switch, then enable',
  'stuck-shut': 'door switch stuck shut: the item sensor saw the contents change while the switch said the door never opened; check the contents and the switch, then enable',
} as const;

/**
 * Writes what the door machine decided: the compartment's door, the open journal, events, alarms and audit
 * entries, and the open's purpose (its handlers). Each open row is re-read in the change, so a step decided on
 * facts read a moment earlier never moves an open that has ended meanwhile.
 */
export class DoorJournal {
  constructor(private readonly s: ServiceContext, private readonly handlers: ReadonlyMap<OpenPurpose, OpenHandlers>) {}

  write(ctx: ChangeContext, compartmentId: string, effect: JournalEffect): void {
    const { compartments, opens, alarms } = this.s.repos;
    switch (effect.type) {
      case 'record-door': {
        compartments.setDoor(compartmentId, effect.door, ctx.now);
        // With a camera, a still is taken once this change commits; the event names it.
        const snapshot = this.s.evidence.reserve(ctx);
        ctx.event(effect.door === 'open' ? 'door.opened' : 'door.closed', { compartment: compartmentId, purpose: effect.purpose, ...(snapshot ? { snapshot } : {}) });
        return;
      }
      case 'learn-door':
        compartments.setDoor(compartmentId, effect.door, ctx.now);
        return;
      case 'forced': {
        // Stays open until ops acknowledge it (POST /api/v1/alarms/:id/ack), whatever the door does next.
        const alarmId = raiseAlarm(alarms, ctx, 'door-forced', compartmentId);
        ctx.event('door.forced', { compartment: compartmentId, alarmId });
        ctx.audit('cabinet', 'door.forced', { compartment: compartmentId, alarmId });
        return;
      }
      case 'glitch':
        ctx.event('sensor.glitch', { compartment: compartmentId, openMs: effect.openMs });
        return;
      case 'left-open': {
        const data = { compartment: compartmentId, purpose: effect.purpose, openForSeconds: effect.openForSeconds, reminder: effect.reminder };
        ctx.event('door.left_open', data);
        // The first reminder goes into the audit chain; the repeats are events only.
        if (effect.reminder === 1) ctx.audit('cabinet', 'door.left_open', data);
        ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'left-open', compartment: compartmentId }));
        return;
      }
      case 'switch-faulty': {
        const { kind } = effect;
        compartments.setService(compartmentId, 'fault', SWITCH_NOTES[kind]);
        const alarmId = raiseAlarm(alarms, ctx, kind === 'chatter' ? 'sensor-faulty' : 'sensor-stuck', compartmentId, effect.detail);
        const data = { compartment: compartmentId, kind, ...effect.detail, alarmId };
        ctx.event(kind === 'chatter' ? 'sensor.faulty' : 'sensor.stuck', data);
        ctx.audit('cabinet', kind === 'chatter' ? 'sensor.faulty' : 'sensor.stuck', data);
        return;
      }
      case 'mark-pulsed':
        // Journaled before the relay is energised: a crash from here on leaves a record of the attempt.
        opens.markPulsed(effect.openId);
        return;
      case 'open-opened': {
        const open = opens.get(effect.openId);
        if (!open || !isPending(open.state)) return;
        opens.setState(open.id, 'opened', ctx.now);
        this.handlers.get(open.purpose)?.opened(ctx, { ...open, state: 'opened' });
        return;
      }
      case 'open-closed': {
        const open = opens.get(effect.openId);
        if (!open || open.state !== 'opened') return;
        opens.setState(open.id, 'closed', ctx.now);
        // The journal keeps what the item sensor said at the close: a pickup of several doors settles on it.
        if (effect.itemSeen !== undefined) opens.setItemAtClose(open.id, effect.itemSeen);
        this.handlers.get(open.purpose)?.closed(ctx, { ...open, state: 'closed', itemAtClose: effect.itemSeen ?? null });
        return;
      }
      case 'unexpected-item': {
        // Re-read in the change: the facts were read a moment earlier.
        const c = compartments.get(compartmentId);
        if (!c || c.caseNo !== null || c.depositId !== null || c.hold !== null || c.service !== 'in-service' || opens.activeOn(compartmentId)) return;
        const alarmId = holdForClerk(this.s.repos, ctx, compartmentId, 'unexpected-item', null, { found: effect.found });
        const data = { compartment: compartmentId, found: effect.found, alarmId };
        ctx.event('compartment.occupied_unexpectedly', data);
        ctx.audit('cabinet', 'compartment.occupied_unexpectedly', data);
        return;
      }
      case 'open-failed':
        return this.#failed(ctx, effect.openId, effect.reason);
      case 'open-interrupted': {
        const open = opens.get(effect.openId);
        if (!open || (open.state !== 'pulsed' && open.state !== 'opened')) return;
        opens.setState(open.id, 'interrupted', ctx.now);
        this.handlers.get(open.purpose)?.failed(ctx, open, 'interrupted');
        return;
      }
    }
  }

  #failed(ctx: ChangeContext, openId: number, reason: 'jammed' | 'hardware-unavailable' | 'interrupted'): void {
    const open = this.s.repos.opens.get(openId);
    if (!open || !isPending(open.state)) return;
    this.s.repos.opens.setState(openId, reason === 'interrupted' ? 'interrupted' : 'failed', ctx.now);
    if (reason === 'interrupted') this.#unverified(ctx, open, 'the board was lost during the pulse: check the contents, then enable');
    if (reason === 'jammed') {
      this.s.repos.compartments.setService(open.compartmentId, 'fault', 'jammed: the door did not open after two pulses (or its switch did not see it open); check it, then enable');
      const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'door-jammed', open.compartmentId, { purpose: open.purpose });
      ctx.event('door.jammed', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
      ctx.audit('cabinet', 'door.jammed', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
    }
    this.handlers.get(open.purpose)?.failed(ctx, open, reason);
  }

  /** An open still in progress after a restart (or a database that could not record it), settled from its switch. */
  settleAfterRestart(ctx: ChangeContext, open: OpenRow, switchSays: boolean | null, unseenPulse: string, itemSeen?: boolean | null): void {
    const { compartments, opens } = this.s.repos;
    const handlers = this.handlers.get(open.purpose);
    ctx.audit('cabinet', 'journal.reconciled', { compartment: open.compartmentId, purpose: open.purpose, journal: open.state, doorOpen: switchSays });
    switch (afterRestart(open, switchSays)) {
      case 'carries-on':
        compartments.setDoor(open.compartmentId, 'open', ctx.now);
        if (open.state !== 'opened') {
          opens.setState(open.id, 'opened', ctx.now);
          handlers?.opened(ctx, { ...open, state: 'opened' });
        }
        return;
      case 'closed-meanwhile':
        compartments.setDoor(open.compartmentId, 'closed', ctx.now);
        opens.setState(open.id, 'closed', ctx.now);
        if (itemSeen !== undefined) opens.setItemAtClose(open.id, itemSeen);
        handlers?.closed(ctx, { ...open, state: 'closed', itemAtClose: itemSeen ?? null });
        return;
      case 'never-energised':
        opens.setState(open.id, 'failed', ctx.now);
        handlers?.failed(ctx, open, 'hardware-unavailable');
        return;
      case 'unverified':
        opens.setState(open.id, 'interrupted', ctx.now);
        this.#unverified(ctx, open, unseenPulse);
        handlers?.failed(ctx, open, 'interrupted');
        return;
    }
  }

  /** The relay may have fired unseen: nobody may use this compartment until a clerk has looked inside. */
  #unverified(ctx: ChangeContext, open: OpenRow, note: string): void {
    this.s.repos.compartments.setService(open.compartmentId, 'fault', note);
    const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'door-unverified', open.compartmentId, { purpose: open.purpose });
    ctx.event('door.unverified', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
    ctx.audit('cabinet', 'door.unverified', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
  }
}
