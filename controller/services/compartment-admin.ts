import { randomUUID } from 'node:crypto';
import { Refusal } from '../domain/refusal.ts';
import { compartmentState, type CompartmentHold, type CompartmentState } from '../domain/types.ts';
import type { CompartmentRow } from '../store/compartments-repo.ts';
import { raiseAlarm } from './alarms.ts';
import type { ServiceContext } from './context.ts';
import type { DoorService, OpenHandlers } from './doors.ts';

export interface CompartmentView {
  id: string;
  size: string;
  state: CompartmentState;
  caseNo: string | null;
  door: string;
  note: string | null;
  /** Held for a clerk because of what its item sensor saw (shown as state `fault`); `null` when not held. */
  hold: { kind: CompartmentHold; caseNo: string | null; since: string; alarmId: number | null } | null;
}

const HOLD_NOTES: Record<CompartmentHold, (c: CompartmentRow) => string> = {
  'item-left': (c) => `an item was left inside after case ${c.holdCase}'s pickup: take it out, then clear the compartment`,
  'unexpected-item': (c) => `the item sensor sees something in this compartment that should be empty${c.holdCase ? ` (after case ${c.holdCase})` : ''}: look inside, take it out, then clear the compartment`,
};

/**
 * Ops' hands on single compartments: look, open remotely (audited), take out of and back into service; and a
 * clerk's, to clear a compartment held because of what its item sensor saw.
 */
export class CompartmentAdminService implements OpenHandlers {
  constructor(private readonly s: ServiceContext, private readonly doors: DoorService) {
    doors.register('remote', this);
  }

  list(): CompartmentView[] {
    return this.s.repos.compartments.all().map((c) => ({
      id: c.id, size: c.size, state: compartmentState(c), caseNo: c.caseNo, door: c.door,
      note: [c.serviceNote, c.hold && HOLD_NOTES[c.hold](c)].filter(Boolean).join('; ') || null,
      hold: c.hold && { kind: c.hold, caseNo: c.holdCase, since: new Date(c.holdSince ?? 0).toISOString(), alarmId: c.holdAlarm },
    }));
  }

  counts(): Record<CompartmentState | 'total', number> {
    const counts = { total: 0, empty: 0, reserved: 0, loaded: 0, open: 0, fault: 0, disabled: 0 };
    for (const c of this.list()) {
      counts.total++;
      counts[c.state]++;
    }
    return counts;
  }

  #require(id: string) {
    const c = this.s.repos.compartments.get(id);
    if (!c) throw new Refusal('not-found', 'unknown-compartment', `no compartment ${id}: compartments are named like A01`, { compartment: id }, 'id');
    return c;
  }

  /**
   * Opens one compartment for ops (never all). The contents stay booked to their case. The cabinet's own
   * policy caps remote opens per minute, whoever asks; the one over the cap is refused and raises an alarm.
   */
  remoteOpen(id: string, reason: string, actor: string): { compartment: string; openId: number } {
    if (this.s.board.link !== 'ok') throw new Refusal('unavailable', 'hardware-unavailable', 'the lock board is not connected: the door cannot be opened remotely now');
    const cap = this.s.config.policy.remoteOpensPerMinute;
    const overCap = this.s.store.change((ctx) => {
      const recent = (this.s.store.db.prepare(`SELECT count(*) AS n FROM opens WHERE purpose = 'remote' AND journaled_at > ?`).get(ctx.now - 60_000) as { n: number }).n;
      if (recent < cap) return false;
      const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'remote-open-cap', id, { by: actor, cap });
      ctx.event('alarm.raised', { kind: 'remote-open-cap', compartment: id, by: actor, cap, alarmId });
      ctx.audit(actor, 'compartment.remote_open_refused', { compartment: id, reason, cap });
      return true;
    });
    if (overCap) throw new Refusal('conflict', 'remote-open-cap', `${cap} remote opens in the last minute is this cabinet's limit: refused and reported; send a clerk to the cabinet`, { cap });
    return this.s.store.change((ctx) => {
      const c = this.#require(id);
      if (this.s.repos.opens.activeOn(id)) throw new Refusal('conflict', 'door-busy', `compartment ${id} is already being opened`, { compartment: id });
      const openId = this.s.repos.opens.journal(id, 'remote', randomUUID(), ctx.now);
      ctx.event('compartment.remote_open', { compartment: id, caseNo: c.caseNo, reason, by: actor });
      ctx.audit(actor, 'compartment.remote_open', { compartment: id, caseNo: c.caseNo, reason });
      ctx.afterCommit(() => void this.doors.pulseAll([openId]));
      return { compartment: id, openId };
    });
  }

  disable(id: string, reason: string | undefined, actor: string): CompartmentView {
    this.s.store.change((ctx) => {
      this.#require(id);
      this.s.repos.compartments.setService(id, 'disabled', reason ?? null);
      ctx.event('compartment.disabled', { compartment: id, reason: reason ?? null, by: actor });
      ctx.audit(actor, 'compartment.disabled', { compartment: id, reason: reason ?? null });
    });
    return this.list().find((c) => c.id === id)!;
  }

  /**
   * Back into service: ends a fault and a clerk's hold alike. The switch and the item sensor are read afresh
   * right after, so something still seen in an empty compartment is reported (and held) again at once.
   */
  enable(id: string, actor: string): CompartmentView {
    this.s.store.change((ctx) => {
      const c = this.#require(id);
      this.s.repos.compartments.setService(id, 'in-service', null);
      if (c.hold) this.s.repos.compartments.clearHold(id);
      const held = c.hold ? { hold: c.hold } : {};
      ctx.event('compartment.enabled', { compartment: id, was: c.service, ...held, by: actor });
      ctx.audit(actor, 'compartment.enabled', { compartment: id, was: c.service, ...held });
    });
    // A switch that was not believed (chatter, stuck) is read afresh now, not at its next edge.
    this.doors.readSwitch(id);
    return this.list().find((c) => c.id === id)!;
  }

  /**
   * A clerk has looked inside a compartment held because of its item sensor (an item left after a pickup,
   * something unexpected) and taken out what was there: it may be loaded again. Refused while the sensor still
   * sees something (or cannot be read). The hold's alarm stays until ops acknowledge it, like every alarm.
   */
  clear(id: string, note: string | undefined, actor: string): CompartmentView {
    const items = this.s.board.items;
    this.s.store.change((ctx) => {
      const c = this.#require(id);
      if (!c.hold) throw new Refusal('conflict', 'nothing-to-clear', `compartment ${id} is not held for a clerk: there is nothing to clear`, { compartment: id });
      if (items && this.s.board.link !== 'ok') {
        throw new Refusal('unavailable', 'hardware-unavailable', `the lock board is not connected, so ${id}'s item sensor cannot be read: clear it once the board is back`);
      }
      if (items?.isPresent(c.lockChannel) === true) {
        throw new Refusal('conflict', 'item-still-seen', `the item sensor of ${id} still sees something: take it out and shut the door, then clear; if the compartment is empty, its sensor needs cleaning (ops can disable it meanwhile)`, { compartment: id });
      }
      this.s.repos.compartments.clearHold(id);
      const data = { compartment: id, hold: c.hold, caseNo: c.holdCase, alarmId: c.holdAlarm, note: note ?? null };
      ctx.event('compartment.cleared', { ...data, by: actor });
      ctx.audit(actor, 'compartment.cleared', data);
    });
    return this.list().find((c) => c.id === id)!;
  }

  opened(): void {}
  closed(): void {}
  failed(): void {}
}
