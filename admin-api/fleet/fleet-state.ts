import { isAlarm } from './alarms.ts';
import type { CompartmentCounts, EventPayload, ReplyPayload, StatusPayload } from './payloads.ts';
import { SeqGaps, type SeqArrival, type SeqRange } from './seq-gaps.ts';

export interface Alarm {
  readonly seq: number;
  readonly type: string;
  readonly ts: string;
  readonly bootId: string;
  readonly data: Record<string, unknown>;
}

export interface LastEvent { readonly type: string; readonly seq: number; readonly ts: string }

/** The last replay ops asked this cabinet for, and what it answered. */
export interface ReplayRequest {
  readonly requestId: string;
  readonly fromSeq: number;
  readonly requestedAt: number;
  readonly outcome: 'sent' | 'done' | 'refused';
  readonly detail: string | null;
}

/** One cabinet as the page and `GET /api/cabinets` show it. Times the monitor measured are epoch ms. */
export interface CabinetView {
  readonly id: string;
  /** From the retained status and the last will; null until the cabinet's status has been seen. */
  readonly online: boolean | null;
  /** When `online` last changed, on the monitor's clock. */
  readonly since: number | null;
  readonly bootId: string | null;
  readonly version: string | null;
  /** The cabinet's own time of its last status. */
  readonly statusTs: string | null;
  readonly compartments: CompartmentCounts | null;
  readonly hardware: 'ok' | 'lost' | null;
  readonly outbox: number | null;
  readonly lastEvent: LastEvent | null;
  /** When anything was last heard from or about the cabinet. */
  readonly lastHeardAt: number;
  /** Unacknowledged alarms, oldest first. */
  readonly alarms: readonly Alarm[];
  /** Alarms beyond the per-cabinet bound that were let go unacknowledged (the oldest ones). */
  readonly alarmsDropped: number;
  readonly gaps: readonly SeqRange[];
  readonly missing: number;
  readonly duplicates: number;
  readonly malformed: number;
  readonly lastMalformed: string | null;
  readonly replay: ReplayRequest | null;
}

export interface FleetSummary {
  readonly broker: 'connected' | 'offline';
  readonly cabinets: number;
  readonly online: number;
  readonly offline: number;
  readonly unknown: number;
  readonly alarms: number;
  readonly withGaps: number;
  readonly missing: number;
  /** Cabinet ids seen past `maxCabinets`, not tracked. */
  readonly untracked: number;
}

export interface FleetStateOptions {
  readonly now?: () => number;
  /** Stops a broker full of stray ids from growing the monitor without end. */
  readonly maxCabinets?: number;
  readonly maxAlarmsPerCabinet?: number;
  readonly maxGapsPerCabinet?: number;
}

/** Alarm data is the cabinet's (already masked); anything past this size is not kept. */
const MAX_ALARM_DATA_CHARS = 1000;

class CabinetRecord {
  online: boolean | null = null;
  since: number | null = null;
  bootId: string | null = null;
  version: string | null = null;
  statusTs: string | null = null;
  compartments: CompartmentCounts | null = null;
  hardware: 'ok' | 'lost' | null = null;
  outbox: number | null = null;
  lastEvent: LastEvent | null = null;
  alarms: Alarm[] = [];
  alarmsDropped = 0;
  duplicates = 0;
  malformed = 0;
  lastMalformed: string | null = null;
  replay: ReplayRequest | null = null;
  readonly seqs: SeqGaps;

  constructor(readonly id: string, public lastHeardAt: number, maxGaps: number) {
    this.seqs = new SeqGaps(maxGaps);
  }

  view(): CabinetView {
    return {
      id: this.id, online: this.online, since: this.since, bootId: this.bootId, version: this.version, statusTs: this.statusTs,
      compartments: this.compartments, hardware: this.hardware, outbox: this.outbox, lastEvent: this.lastEvent, lastHeardAt: this.lastHeardAt,
      alarms: [...this.alarms], alarmsDropped: this.alarmsDropped, gaps: this.seqs.gaps.map(([from, to]) => [from, to] as const),
      missing: this.seqs.missing, duplicates: this.duplicates, malformed: this.malformed, lastMalformed: this.lastMalformed, replay: this.replay,
    };
  }
}

/**
 * Central ops' picture of the fleet, built only from what the broker delivers: retained status + last will
 * (online/offline, counts), events (last event, alarms, seq gaps) and replies to the monitor's replays.
 * Pure: no I/O, the clock injected. Listeners hear which cabinet changed (`null`: the fleet as a whole).
 */
export class FleetState {
  readonly #cabinets = new Map<string, CabinetRecord>();
  readonly #listeners = new Set<(cabinetId: string | null) => void>();
  readonly #now: () => number;
  readonly #maxCabinets: number;
  readonly #maxAlarms: number;
  readonly #maxGaps: number;
  readonly #untracked = new Set<string>();
  #broker: 'connected' | 'offline' = 'offline';

  constructor(options: FleetStateOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxCabinets = options.maxCabinets ?? 5000;
    this.#maxAlarms = options.maxAlarmsPerCabinet ?? 50;
    this.#maxGaps = options.maxGapsPerCabinet ?? 64;
  }

  onChange(listener: (cabinetId: string | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  setBroker(state: 'connected' | 'offline'): void {
    if (state === this.#broker) return;
    this.#broker = state;
    this.#changed(null);
  }

  /** A (retained) status or a last will. Returns false when it was not applied (see below). */
  applyStatus(cabinetId: string, status: StatusPayload): boolean {
    const cabinet = this.#record(cabinetId);
    if (!cabinet) return false;
    const now = this.#now();
    cabinet.lastHeardAt = now;
    if (status.online) {
      if (cabinet.online !== true) cabinet.since = now;
      cabinet.online = true;
      cabinet.bootId = status.bootId;
      cabinet.version = status.version ?? cabinet.version;
      cabinet.statusTs = status.ts ?? null;
      cabinet.compartments = status.compartments ?? cabinet.compartments;
      cabinet.hardware = status.hardware ?? cabinet.hardware;
      cabinet.outbox = status.outbox ?? cabinet.outbox;
    } else {
      // The will of an earlier boot, delivered after the cabinet came back, says nothing about this boot.
      if (cabinet.online === true && status.bootId !== undefined && cabinet.bootId !== null && status.bootId !== cabinet.bootId) return false;
      if (cabinet.online !== false) cabinet.since = now;
      cabinet.online = false;
      if (status.bootId !== undefined) cabinet.bootId = status.bootId;
    }
    this.#changed(cabinetId);
    return true;
  }

  /** The retained status was cleared (an empty retained message): the cabinet left the fleet. */
  forget(cabinetId: string): boolean {
    if (!this.#cabinets.delete(cabinetId)) return false;
    this.#changed(cabinetId);
    return true;
  }

  /** One event from `…/events`; null when the cabinet is not tracked (past the bound). */
  applyEvent(cabinetId: string, event: EventPayload): SeqArrival | null {
    const cabinet = this.#record(cabinetId);
    if (!cabinet) return null;
    cabinet.lastHeardAt = this.#now();
    const arrival = cabinet.seqs.receive(event.seq);
    if (arrival === 'duplicate') {
      cabinet.duplicates++;
    } else {
      if (arrival !== 'fill') cabinet.lastEvent = { type: event.type, seq: event.seq, ts: event.ts };
      if (isAlarm(event)) this.#raise(cabinet, event);
      else if (event.type === 'alarm.acknowledged' && typeof event.data.alarmId === 'number') this.#acknowledged(cabinet, event.data.alarmId);
    }
    this.#changed(cabinetId);
    return arrival;
  }

  /** A payload on one of the cabinet's topics that could not be read. */
  noteMalformed(cabinetId: string, what: string): void {
    const cabinet = this.#record(cabinetId);
    if (!cabinet) return;
    cabinet.malformed++;
    cabinet.lastMalformed = what.slice(0, 300);
    this.#changed(cabinetId);
  }

  /** Someone on the page took note of the alarm. False when there is no such unacknowledged alarm. */
  ackAlarm(cabinetId: string, seq: number): boolean {
    const cabinet = this.#cabinets.get(cabinetId);
    const i = cabinet?.alarms.findIndex((a) => a.seq === seq) ?? -1;
    if (!cabinet || i < 0) return false;
    cabinet.alarms.splice(i, 1);
    this.#changed(cabinetId);
    return true;
  }

  replayRequested(cabinetId: string, requestId: string, fromSeq: number): void {
    const cabinet = this.#cabinets.get(cabinetId);
    if (!cabinet) return;
    cabinet.replay = { requestId, fromSeq, requestedAt: this.#now(), outcome: 'sent', detail: null };
    this.#changed(cabinetId);
  }

  /** A reply on `…/reply`: applied only when it answers this cabinet's last replay request. */
  replyReceived(cabinetId: string, reply: ReplyPayload): boolean {
    const cabinet = this.#cabinets.get(cabinetId);
    if (!cabinet?.replay || cabinet.replay.requestId !== reply.requestId) return false;
    const detail = reply.ok ? summarise(reply.result) : (reply.error ?? 'refused without a reason');
    cabinet.replay = { ...cabinet.replay, outcome: reply.ok ? 'done' : 'refused', detail };
    this.#changed(cabinetId);
    return true;
  }

  get(cabinetId: string): CabinetView | null {
    return this.#cabinets.get(cabinetId)?.view() ?? null;
  }

  has(cabinetId: string): boolean {
    return this.#cabinets.has(cabinetId);
  }

  /** Every cabinet, by id. */
  list(): CabinetView[] {
    return [...this.#cabinets.keys()].sort().map((id) => this.#cabinets.get(id)!.view());
  }

  summary(): FleetSummary {
    let online = 0, offline = 0, unknown = 0, alarms = 0, withGaps = 0, missing = 0;
    for (const c of this.#cabinets.values()) {
      if (c.online === true) online++;
      else if (c.online === false) offline++;
      else unknown++;
      alarms += c.alarms.length;
      const m = c.seqs.missing;
      if (m > 0) withGaps++;
      missing += m;
    }
    return { broker: this.#broker, cabinets: this.#cabinets.size, online, offline, unknown, alarms, withGaps, missing, untracked: this.#untracked.size };
  }

  #record(cabinetId: string): CabinetRecord | null {
    let cabinet = this.#cabinets.get(cabinetId);
    if (cabinet) return cabinet;
    if (this.#cabinets.size >= this.#maxCabinets) {
      // Counted once per id, up to a bound of its own.
      if (this.#untracked.size < this.#maxCabinets) this.#untracked.add(cabinetId);
      return null;
    }
    cabinet = new CabinetRecord(cabinetId, this.#now(), this.#maxGaps);
    this.#cabinets.set(cabinetId, cabinet);
    return cabinet;
  }

  /** Ops acknowledged an alarm at the cabinet (`POST /api/v1/alarms/:id/ack`): the events that raised it go too. */
  #acknowledged(cabinet: CabinetRecord, alarmId: number): void {
    cabinet.alarms = cabinet.alarms.filter((a) => a.data.alarmId !== alarmId);
  }

  #raise(cabinet: CabinetRecord, event: EventPayload): void {
    const data = JSON.stringify(event.data).length <= MAX_ALARM_DATA_CHARS ? event.data : { note: 'details too large to keep here: see the cabinet audit' };
    const alarm: Alarm = { seq: event.seq, type: event.type, ts: event.ts, bootId: event.bootId, data };
    // Kept in seq order: a replayed alarm fills in where it belongs.
    const at = cabinet.alarms.findIndex((a) => a.seq > event.seq);
    if (at < 0) cabinet.alarms.push(alarm);
    else cabinet.alarms.splice(at, 0, alarm);
    if (cabinet.alarms.length > this.#maxAlarms) {
      cabinet.alarms.shift();
      cabinet.alarmsDropped++;
    }
  }

  #changed(cabinetId: string | null): void {
    for (const listener of [...this.#listeners]) listener(cabinetId);
  }
}

/** The cabinet's answer to `replay` (`{fromSeq, firstKept, lastSeq}`), in words for the page. */
function summarise(result: unknown): string {
  const r = (result && typeof result === 'object' ? result : {}) as { fromSeq?: unknown; firstKept?: unknown; lastSeq?: unknown };
  if (typeof r.fromSeq !== 'number') return 'accepted';
  if (typeof r.firstKept !== 'number' || typeof r.lastSeq !== 'number') return `the cabinet keeps no events from seq ${r.fromSeq}`;
  const lost = r.firstKept > r.fromSeq ? `; seq ${r.fromSeq}–${r.firstKept - 1} are no longer kept` : '';
  return `sending seq ${r.firstKept}–${r.lastSeq} again${lost}`;
}
