import type { LinkLoss } from '../../firmware-bridge/ports.ts';
import { Refusal } from '../domain/refusal.ts';
import type { AlarmKind, CompartmentHold } from '../domain/types.ts';
import type { AlarmRow, AlarmsRepo } from '../store/alarms-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import type { Repos, ServiceContext } from './context.ts';

export interface AlarmView {
  id: number;
  kind: string;
  compartment: string | null;
  raisedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  data: Record<string, unknown>;
}

const view = (a: AlarmRow): AlarmView => ({
  id: a.id, kind: a.kind, compartment: a.compartment, raisedAt: new Date(a.raisedAt).toISOString(),
  acknowledgedAt: a.ackedAt === null ? null : new Date(a.ackedAt).toISOString(), acknowledgedBy: a.ackedBy, data: a.data,
});

/**
 * Records an alarm inside the change that found the fault, so the event that reports it and the alarm that
 * keeps it open until ops acknowledge it commit together. Returns the alarm's id (for the event's data).
 */
export function raiseAlarm(alarms: AlarmsRepo, ctx: ChangeContext, kind: AlarmKind, compartment: string | null, data: Record<string, unknown> = {}): number {
  return alarms.raise(kind, compartment, data, ctx.now);
}

/**
 * Holds a compartment for a clerk because of what its item sensor saw, with an alarm of the hold's kind
 * (`item-left`, `unexpected-item`): no new load goes there until a clerk has looked inside and cleared it
 * (`POST /api/v1/compartments/:id/clear`) or ops enable it. The caller reports it. Returns the alarm's id.
 */
export function holdForClerk(repos: Pick<Repos, 'alarms' | 'compartments'>, ctx: ChangeContext, compartment: string, hold: CompartmentHold, caseNo: string | null, data: Record<string, unknown> = {}): number {
  const alarmId = raiseAlarm(repos.alarms, ctx, hold, compartment, caseNo === null ? data : { caseNo, ...data });
  repos.compartments.setHold(compartment, hold, caseNo, alarmId, ctx.now);
  return alarmId;
}

/**
 * `hardware.lost`, with the cause when the driver knows it. A board that closed the link itself (an orderly
 * TCP close the controller did not ask for) has handed its only TCP slot to another host, which can now pulse
 * every relay, or its network stack restarted: that is a `board-link-taken` alarm for ops as well, reported
 * with `alarm.raised` and audited. While that alarm is open, further takeovers name it in their `hardware.lost`
 * instead of raising another (a host that keeps taking the slot must not flood the alarm list). A cable
 * pulled, a reset or a board that stopped answering is a plain `hardware.lost`.
 */
export function reportBoardLinkLost(alarms: AlarmsRepo, ctx: ChangeContext, loss: LinkLoss | null): void {
  if (loss?.cause !== 'closed-by-board') {
    ctx.event('hardware.lost', loss ? { cause: loss.cause } : {});
    return;
  }
  const open = alarms.open().find((a) => a.kind === 'board-link-taken');
  if (open) {
    ctx.event('hardware.lost', { cause: loss.cause, alarmId: open.id, again: true });
    return;
  }
  const alarmId = raiseAlarm(alarms, ctx, 'board-link-taken', null, { cause: loss.cause, reason: loss.reason });
  ctx.event('hardware.lost', { cause: loss.cause, alarmId });
  ctx.event('alarm.raised', { kind: 'board-link-taken', cause: loss.cause, alarmId });
  ctx.audit('cabinet', 'board.link_taken', { cause: loss.cause, alarmId });
}

/** Ops' view of the alarms: what is open, and acknowledging one (audited). */
export class AlarmService {
  constructor(private readonly s: ServiceContext) {}

  open(): AlarmView[] {
    return this.s.repos.alarms.open().map(view);
  }

  openCount(): number {
    return this.s.repos.alarms.openCount();
  }

  acknowledge(id: number, actor: string, note?: string): AlarmView {
    return this.s.store.change((ctx) => {
      const { alarms } = this.s.repos;
      const alarm = alarms.get(id);
      if (!alarm) throw new Refusal('not-found', 'unknown-alarm', `no alarm ${id}: GET /api/v1/alarms lists the open ones`, { alarm: id }, 'id');
      if (!alarms.acknowledge(id, actor, ctx.now)) {
        throw new Refusal('conflict', 'already-acknowledged', `alarm ${id} was already acknowledged by ${alarm.ackedBy}`, { alarm: id, by: alarm.ackedBy });
      }
      const data = { alarmId: id, kind: alarm.kind, compartment: alarm.compartment, by: actor, note: note ?? null };
      ctx.event('alarm.acknowledged', data);
      ctx.audit(actor, 'alarm.acknowledged', data);
      return view(alarms.get(id)!);
    });
  }
}
