import { HardwareUnavailableError, type DoorEdge, type LinkState } from '../../firmware-bridge/ports.ts';
import { SwitchChatter } from '../domain/switch-chatter.ts';
import type { OpenPurpose } from '../domain/types.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import { StorageUnavailableError } from '../store/storage-health.ts';
import type { ChangeContext } from '../store/store.ts';
import { raiseAlarm, reportBoardLinkLost } from './alarms.ts';
import type { ServiceContext } from './context.ts';

/** What each purpose (load, pickup, retrieve, remote) does as its doors move. Runs inside the edge's change. */
export interface OpenHandlers {
  opened(ctx: ChangeContext, open: OpenRow): void;
  closed(ctx: ChangeContext, open: OpenRow): void;
  /**
   * `hardware-unavailable`: nothing was energised; `interrupted`: the relay may have fired but nobody saw the
   * door (a restart, or the board lost mid-pulse), so the contents are uncertain; `jammed`: pulsed twice, shut.
   */
  failed(ctx: ChangeContext, open: OpenRow, reason: 'jammed' | 'hardware-unavailable' | 'interrupted'): void;
}

/**
 * Drives doors: pulses journaled opens one at a time, watches for the open edge (one retry, then jammed),
 * turns door edges into journal progress and events, and reconciles the journal with the sensors at start.
 */
export class DoorService {
  readonly #handlers = new Map<OpenPurpose, OpenHandlers>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  /** Doors standing open, by compartment: the reminder timer, when it was first seen open, reminders sent. */
  readonly #leftOpen = new Map<string, { timer: NodeJS.Timeout; since: number; reminders: number; stuck: boolean }>();
  /** Doors that opened without a pulse, waiting `hardware.minOpenMs` to tell a person from a glitch. */
  readonly #unconfirmed = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  readonly #chatter: SwitchChatter;
  /** Compartments whose switch was found faulty: its edges are ignored until ops put it back in service. */
  readonly #faultySwitches = new Set<string>();
  readonly #unsubscribe: (() => void)[] = [];
  #stopped = false;
  /** The journal has been reconciled with the sensors once since start (needs the board). */
  #reconciled = false;
  #linkWasLost = false;
  /** Opens whose progress could not be written (storage failing): settled from the sensors once it writes again. */
  readonly #stalled = new Set<number>();

  constructor(private readonly s: ServiceContext) {
    this.#chatter = new SwitchChatter(s.config.hardware.sensorChatter);
  }

  register(purpose: OpenPurpose, handlers: OpenHandlers): void {
    this.#handlers.set(purpose, handlers);
  }

  start(): void {
    this.#unsubscribe.push(this.s.board.doors.onEdge((edge) => {
      try {
        this.#onSwitch(edge);
      } catch (error) {
        if (!(error instanceof StorageUnavailableError)) throw error;
        // The sensors are read again when the database writes again (resumeAfterStorageFailure).
        this.s.logger.error({ sensor: edge.sensor, open: edge.open, err: error.message }, 'door edge not recorded');
      }
    }));
    this.#unsubscribe.push(this.s.board.onLink((state) => this.#onLink(state)));
  }

  stop(): void {
    this.#stopped = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#leftOpen.values()) clearInterval(w.timer);
    this.#leftOpen.clear();
    for (const u of this.#unconfirmed.values()) clearTimeout(u.timer);
    this.#unconfirmed.clear();
  }

  /** A door seen open starts its reminders: `door.left_open` every `hardware.leftOpenMs` until it closes. */
  #watchLeftOpen(compartmentId: string): void {
    if (this.#stopped || this.#leftOpen.has(compartmentId)) return;
    const timer = setInterval(() => this.#remindLeftOpen(compartmentId), this.s.config.hardware.leftOpenMs);
    timer.unref();
    this.#leftOpen.set(compartmentId, { timer, since: this.s.store.clock.now(), reminders: 0, stuck: false });
  }

  #unwatchLeftOpen(compartmentId: string): void {
    const watch = this.#leftOpen.get(compartmentId);
    if (watch) clearInterval(watch.timer);
    this.#leftOpen.delete(compartmentId);
  }

  #remindLeftOpen(compartmentId: string): void {
    const watch = this.#leftOpen.get(compartmentId);
    if (this.#stopped || !watch) return;
    // While the board is away the door's state is unknown: no reminder, but keep watching.
    if (this.s.board.link !== 'ok') return;
    try {
      if (this.s.repos.compartments.get(compartmentId)?.door !== 'open') {
        this.#unwatchLeftOpen(compartmentId);
        return;
      }
      watch.reminders++;
      if (!watch.stuck && this.s.store.clock.now() - watch.since >= this.s.config.hardware.stuckOpenMs) {
        watch.stuck = true;
        this.#switchFaulty(compartmentId, 'stuck', { openForSeconds: Math.round((this.s.store.clock.now() - watch.since) / 1000) });
        return;
      }
      this.s.store.change((ctx) => {
        const active = this.s.repos.opens.activeOn(compartmentId);
        const data = { compartment: compartmentId, purpose: active?.purpose ?? null, openForSeconds: Math.round((ctx.now - watch.since) / 1000), reminder: watch.reminders };
        ctx.event('door.left_open', data);
        // The first reminder goes into the audit chain; the repeats are events only.
        if (watch.reminders === 1) ctx.audit('cabinet', 'door.left_open', data);
        ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'left-open', compartment: compartmentId }));
      });
    } catch (error) {
      this.s.logger.error({ compartment: compartmentId, err: (error as Error).message }, 'could not report a door left open');
    }
  }

  /** Pulses journaled opens in order, one lock at a time. Never throws: failures become journal states. */
  async pulseAll(openIds: readonly number[]): Promise<void> {
    for (const id of openIds) await this.#pulse(id, 1);
  }

  /**
   * Runs one step of an open's progress; if it cannot be written (storage failing) the open is set aside and
   * settled from the sensors when the storage writes again, and no relay is energised meanwhile.
   */
  #step(openId: number, what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      this.#stalled.add(openId);
      this.s.logger.error({ open: openId, err: error.message }, `${what} not recorded: the door is left alone until the database writes again`);
      return false;
    }
  }

  /** The storage writes again: opens set aside meanwhile are settled as after a restart, doors re-read. */
  resumeAfterStorageFailure(): void {
    for (const openId of [...this.#stalled]) {
      this.#stalled.delete(openId);
      const open = this.s.repos.opens.get(openId);
      if (open && (open.state === 'journaled' || open.state === 'pulsed' || open.state === 'opened') && !this.#timers.has(openId)) this.#reconcileOpen(open, 'the database could not record this door while it was pulsed: check the contents, then enable');
    }
    if (this.s.board.link === 'ok') this.syncDoors();
  }

  async #pulse(openId: number, attempt: 1 | 2): Promise<void> {
    if (this.#stopped) return;
    const open = this.s.repos.opens.get(openId);
    if (!open || (open.state !== 'journaled' && open.state !== 'pulsed')) return;
    const compartment = this.s.repos.compartments.get(open.compartmentId)!;
    // Journaled before the relay is energised: a crash from here on leaves a record of the attempt.
    if (!this.#step(openId, 'lock pulse', () => this.s.store.change(() => this.s.repos.opens.markPulsed(openId)))) return;
    const stillWanted = () => {
      const now = this.s.repos.opens.get(openId);
      return !this.#stopped && (now?.state === 'journaled' || now?.state === 'pulsed');
    };
    try {
      await this.s.board.locks.pulse(compartment.lockChannel, { doorSensor: compartment.doorSensor, stillWanted });
    } catch (error) {
      if (this.#stopped) return; // shutting down: the next start reconciles this open from the sensors
      const energised = error instanceof HardwareUnavailableError && error.energised;
      this.s.logger.warn({ compartment: compartment.id, err: (error as Error).message, energised }, 'lock pulse failed');
      this.#step(openId, 'failed pulse', () => this.#fail(openId, energised ? 'interrupted' : 'hardware-unavailable'));
      return;
    }
    if (this.#stopped) return;
    // A sensor that already says "open" cannot produce an edge: count the door open, so nobody's items are locked in.
    if (this.s.board.doors.isOpen(compartment.doorSensor) === true) {
      this.#step(openId, 'door open', () => this.#opened(openId));
      return;
    }
    this.#watch(openId, attempt);
  }

  #watch(openId: number, attempt: 1 | 2): void {
    const timer = setTimeout(() => {
      this.#timers.delete(openId);
      const open = this.s.repos.opens.get(openId);
      if (!open || open.state !== 'pulsed') return;
      if (attempt === 1) {
        this.s.logger.warn({ compartment: open.compartmentId }, 'door did not open after the pulse: retrying once');
        void this.#pulse(openId, 2);
      } else {
        this.#step(openId, 'jammed door', () => this.#fail(openId, 'jammed'));
      }
    }, this.s.config.hardware.openTimeoutMs);
    timer.unref();
    this.#timers.set(openId, timer);
  }

  #fail(openId: number, reason: 'jammed' | 'hardware-unavailable' | 'interrupted'): void {
    this.s.store.change((ctx) => {
      const open = this.s.repos.opens.get(openId);
      if (!open || (open.state !== 'journaled' && open.state !== 'pulsed')) return;
      this.s.repos.opens.setState(openId, reason === 'interrupted' ? 'interrupted' : 'failed', ctx.now);
      if (reason === 'interrupted') this.#unverified(ctx, open, 'the board was lost during the pulse: check the contents, then enable');
      if (reason === 'jammed') {
        this.s.repos.compartments.setService(open.compartmentId, 'fault', 'jammed: the door did not open after two pulses (or its switch did not see it open); check it, then enable');
        const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'door-jammed', open.compartmentId, { purpose: open.purpose });
        ctx.event('door.jammed', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
        ctx.audit('cabinet', 'door.jammed', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
      }
      this.#handlers.get(open.purpose)?.failed(ctx, open, reason);
    });
  }

  #opened(openId: number): void {
    this.#clearWatch(openId);
    this.s.store.change((ctx) => {
      const open = this.s.repos.opens.get(openId);
      if (!open || open.state === 'opened') return;
      this.s.repos.opens.setState(openId, 'opened', ctx.now);
      this.#handlers.get(open.purpose)?.opened(ctx, { ...open, state: 'opened' });
    });
  }

  /**
   * A door switch's edge from the board, judged before it counts: a switch that chatters is faulty; a door
   * nobody unlocked counts as opened only once it has stayed open `hardware.minOpenMs` (else a glitch).
   */
  #onSwitch(edge: DoorEdge): void {
    const c = this.s.repos.compartments.bySensor(edge.sensor);
    if (!c) return this.#onEdge(edge);
    const now = this.s.store.clock.now();
    if (this.#faultySwitches.has(c.id)) {
      if (c.service === 'fault') return; // still out of service: a faulty switch says nothing worth recording
      // Back in service (repaired and enabled): start afresh from what the switch says now.
      this.#faultySwitches.delete(c.id);
      this.#chatter.forget(c.id);
      return this.syncDoors();
    }
    const active = this.s.repos.opens.activeOn(c.id);
    // Only edges nobody asked for count: a door the cabinet is opening for a person moves as it should.
    if (!active && this.#chatter.record(c.id, now)) return this.#switchFaulty(c.id, 'chatter', { edges: this.s.config.hardware.sensorChatter.edges, withinMs: this.s.config.hardware.sensorChatter.withinMs });
    const pending = this.#unconfirmed.get(c.id);
    if (pending) {
      if (edge.open) return;
      clearTimeout(pending.timer);
      this.#unconfirmed.delete(c.id);
      const openMs = Math.round(now - pending.at);
      this.s.store.change((ctx) => ctx.event('sensor.glitch', { compartment: c.id, openMs }));
      return;
    }
    const minOpenMs = this.s.config.hardware.minOpenMs;
    if (edge.open && c.door !== 'open' && minOpenMs > 0 && !active) {
      const timer = setTimeout(() => {
        this.#unconfirmed.delete(c.id);
        if (this.#stopped || this.s.board.doors.isOpen(c.doorSensor) !== true) return;
        try {
          this.#onEdge(edge);
        } catch (error) {
          this.s.logger.error({ compartment: c.id, err: (error as Error).message }, 'door opened without a pulse, not recorded');
        }
      }, minOpenMs);
      timer.unref();
      this.#unconfirmed.set(c.id, { timer, at: now });
      return;
    }
    this.#onEdge(edge);
  }

  /**
   * A door switch that cannot be believed (chatter: changing faster than any person; stuck: reporting open for
   * `hardware.stuckOpenMs`): the compartment goes out of service with an alarm, an open in progress there is
   * interrupted for a clerk to check, and the switch is ignored until ops enable the compartment again.
   */
  #switchFaulty(compartmentId: string, kind: 'chatter' | 'stuck', detail: Record<string, unknown>): void {
    if (this.#faultySwitches.has(compartmentId)) return;
    this.#faultySwitches.add(compartmentId);
    const pending = this.#unconfirmed.get(compartmentId);
    if (pending) clearTimeout(pending.timer);
    this.#unconfirmed.delete(compartmentId);
    const note = kind === 'chatter'
      ? 'door switch faulty: it changes faster than a door can move; check the switch and its wiring, then enable'
      : 'door switch stuck: it has reported the door open for too long; check the door and its switch, then enable';
    this.s.store.change((ctx) => {
      this.s.repos.compartments.setService(compartmentId, 'fault', note);
      const alarmId = raiseAlarm(this.s.repos.alarms, ctx, kind === 'chatter' ? 'sensor-faulty' : 'sensor-stuck', compartmentId, detail);
      const data = { compartment: compartmentId, kind, ...detail, alarmId };
      ctx.event(kind === 'chatter' ? 'sensor.faulty' : 'sensor.stuck', data);
      ctx.audit('cabinet', kind === 'chatter' ? 'sensor.faulty' : 'sensor.stuck', data);
      const active = this.s.repos.opens.activeOn(compartmentId);
      if (active && active.state !== 'journaled') {
        this.#clearWatch(active.id);
        this.s.repos.opens.setState(active.id, 'interrupted', ctx.now);
        this.#handlers.get(active.purpose)?.failed(ctx, active, 'interrupted');
      }
    });
    // The alarm stands for it now: no more reminders from a switch nobody can believe.
    this.#unwatchLeftOpen(compartmentId);
  }

  #clearWatch(openId: number): void {
    const timer = this.#timers.get(openId);
    if (timer) clearTimeout(timer);
    this.#timers.delete(openId);
  }

  #onEdge(edge: DoorEdge): void {
    const compartment = this.s.repos.compartments.bySensor(edge.sensor);
    if (!compartment) {
      this.s.logger.debug({ sensor: edge.sensor }, 'edge on a sensor no compartment uses');
      return;
    }
    const door = edge.open ? 'open' : 'closed';
    if (compartment.door === door) return;
    let openToMark: number | null = null;
    this.s.store.change((ctx) => {
      this.s.repos.compartments.setDoor(compartment.id, door, ctx.now);
      const active = this.s.repos.opens.activeOn(compartment.id);
      ctx.event(edge.open ? 'door.opened' : 'door.closed', { compartment: compartment.id, purpose: active?.purpose ?? null });
      if (edge.open) {
        if (!active) {
          // Stays open until ops acknowledge it (POST /api/v1/alarms/:id/ack), whatever the door does next.
          const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'door-forced', compartment.id);
          ctx.event('door.forced', { compartment: compartment.id, alarmId });
          ctx.audit('cabinet', 'door.forced', { compartment: compartment.id, alarmId });
        } else if (active.state !== 'opened') {
          openToMark = active.id;
        }
      } else if (active && active.state === 'opened') {
        this.s.repos.opens.setState(active.id, 'closed', ctx.now);
        this.#handlers.get(active.purpose)?.closed(ctx, { ...active, state: 'closed' });
      }
    });
    if (edge.open) this.#watchLeftOpen(compartment.id);
    else this.#unwatchLeftOpen(compartment.id);
    if (openToMark !== null) this.#opened(openToMark);
  }

  #onLink(state: LinkState): void {
    if (this.#stopped) return;
    if (state === 'lost') {
      this.#linkWasLost = true;
      this.s.store.change((ctx) => reportBoardLinkLost(this.s.repos.alarms, ctx, this.s.board.lastLoss ?? null));
    } else if (state === 'ok') {
      if (this.#linkWasLost) this.s.store.change((ctx) => ctx.event('hardware.restored', {}));
      this.#linkWasLost = false;
      // A start without the board leaves the journal to be settled on its first return.
      if (!this.#reconciled) this.reconcileJournal();
      this.syncDoors();
    }
  }

  /** Brings stored door states in line with what the sensors say, as edges. */
  syncDoors(): void {
    for (const c of this.s.repos.compartments.all()) {
      const open = this.s.board.doors.isOpen(c.doorSensor);
      if (open === null || this.#faultySwitches.has(c.id)) continue;
      if (c.door === 'unknown') this.s.store.change((ctx) => this.s.repos.compartments.setDoor(c.id, open ? 'open' : 'closed', ctx.now));
      else if ((c.door === 'open') !== open) this.#onEdge({ sensor: c.doorSensor, open, at: Date.now() });
    }
    // Doors found open (at start, or when the board returns) get their reminders too.
    for (const c of this.s.repos.compartments.all()) {
      if (this.#faultySwitches.has(c.id)) continue;
      if (c.door === 'open') this.#watchLeftOpen(c.id);
      else this.#unwatchLeftOpen(c.id);
    }
  }

  /**
   * After a restart: every open still in progress is settled from the sensors, never by pulsing again.
   * A door seen open carries on (its close completes the open); a door seen open before and closed now was
   * closed while we were down; a journaled or pulsed open whose door is shut cannot be known: interrupted.
   */
  reconcileJournal(): void {
    if (this.#reconciled) return;
    this.#reconciled = true;
    for (const open of this.s.repos.opens.allActive()) this.#reconcileOpen(open);
  }

  #reconcileOpen(open: OpenRow, unseenPulse = 'a restart found this door shut after a pulse nobody saw: check the contents, then enable'): void {
    const c = this.s.repos.compartments.get(open.compartmentId)!;
    const isOpen = this.s.board.doors.isOpen(c.doorSensor);
    this.s.store.change((ctx) => {
      ctx.audit('cabinet', 'journal.reconciled', { compartment: c.id, purpose: open.purpose, journal: open.state, doorOpen: isOpen });
      if (isOpen === true) {
        this.s.repos.compartments.setDoor(c.id, 'open', ctx.now);
        if (open.state !== 'opened') {
          this.s.repos.opens.setState(open.id, 'opened', ctx.now);
          this.#handlers.get(open.purpose)?.opened(ctx, { ...open, state: 'opened' });
        }
      } else if (isOpen === false && open.state === 'opened') {
        this.s.repos.compartments.setDoor(c.id, 'closed', ctx.now);
        this.s.repos.opens.setState(open.id, 'closed', ctx.now);
        this.#handlers.get(open.purpose)?.closed(ctx, { ...open, state: 'closed' });
      } else if (open.pulses === 0) {
        // Journaled but never energised (the count goes up before the relay does): nothing happened.
        this.s.repos.opens.setState(open.id, 'failed', ctx.now);
        this.#handlers.get(open.purpose)?.failed(ctx, open, 'hardware-unavailable');
      } else {
        this.s.repos.opens.setState(open.id, 'interrupted', ctx.now);
        this.#unverified(ctx, open, unseenPulse);
        this.#handlers.get(open.purpose)?.failed(ctx, open, 'interrupted');
      }
    });
  }

  /** The relay may have fired unseen: nobody may use this compartment until a clerk has looked inside. */
  #unverified(ctx: ChangeContext, open: OpenRow, note: string): void {
    this.s.repos.compartments.setService(open.compartmentId, 'fault', note);
    const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'door-unverified', open.compartmentId, { purpose: open.purpose });
    ctx.event('door.unverified', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
    ctx.audit('cabinet', 'door.unverified', { compartment: open.compartmentId, purpose: open.purpose, alarmId });
  }
}
