import { randomUUID } from 'node:crypto';
import { Refusal } from '../domain/refusal.ts';
import { compartmentState, type CompartmentState } from '../domain/types.ts';
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
}

/** Ops' hands on single compartments: look, open remotely (audited), take out of and back into service. */
export class CompartmentAdminService implements OpenHandlers {
  constructor(private readonly s: ServiceContext, private readonly doors: DoorService) {
    doors.register('remote', this);
  }

  list(): CompartmentView[] {
    return this.s.repos.compartments.all().map((c) => ({ id: c.id, size: c.size, state: compartmentState(c), caseNo: c.caseNo, door: c.door, note: c.serviceNote }));
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

  enable(id: string, actor: string): CompartmentView {
    this.s.store.change((ctx) => {
      const c = this.#require(id);
      this.s.repos.compartments.setService(id, 'in-service', null);
      ctx.event('compartment.enabled', { compartment: id, was: c.service, by: actor });
      ctx.audit(actor, 'compartment.enabled', { compartment: id, was: c.service });
    });
    // A switch that was not believed (chatter, stuck) is read afresh now, not at its next edge.
    this.doors.readSwitch(id);
    return this.list().find((c) => c.id === id)!;
  }

  opened(): void {}
  closed(): void {}
  failed(): void {}
}
