import { HardwareUnavailableError, type DoorEdge, type ItemChange, type LinkState } from '../../firmware-bridge/ports.ts';
import { shutDoor, stepDoor, type CompartmentDoor, type DoorEvent, type DoorFacts, type DoorRules, type PulseOutcome } from '../domain/door-machine.ts';
import type { OpenPurpose } from '../domain/types.ts';
import type { CompartmentRow } from '../store/compartments-repo.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import { StorageUnavailableError } from '../store/storage-health.ts';
import { reportBoardLinkLost } from './alarms.ts';
import type { ServiceContext } from './context.ts';
import { DoorJournal, isJournalEffect, type JournalEffect, type OpenHandlers } from './door-journal.ts';

export type { OpenHandlers } from './door-journal.ts';

/** One compartment's door: the state of its machine and its one timer. */
interface DoorSlot {
  state: CompartmentDoor;
  timer: NodeJS.Timeout | null;
}

/**
 * What a step does when the database refuses its rows: `throw` them on; `log` them (a door edge: the switches
 * are read again when the database writes again); `set-aside` its opens, to be settled from the sensors then.
 */
type WhenNotRecorded = 'throw' | 'log' | 'set-aside';

/**
 * Drives doors: one state machine per compartment (controller/domain/door-machine.ts) decides; this service
 * reads the facts it needs, keeps each compartment's state and single timer, writes the step's rows in one
 * change, then pulses. It also reconciles the journal with the sensors at start and reports the board link.
 */
export class DoorService {
  readonly #handlers = new Map<OpenPurpose, OpenHandlers>();
  readonly #journal: DoorJournal;
  readonly #rules: DoorRules;
  readonly #doors = new Map<string, DoorSlot>();
  readonly #unsubscribe: (() => void)[] = [];
  #stopped = false;
  /** The journal has been reconciled with the sensors once since start (needs the board). */
  #reconciled = false;
  #linkWasLost = false;
  /** Opens whose progress could not be written (storage failing): settled from the sensors once it writes again. */
  readonly #stalled = new Set<number>();

  constructor(private readonly s: ServiceContext) {
    const { minOpenMs, openTimeoutMs, leftOpenMs, stuckOpenMs, sensorChatter } = s.config.hardware;
    this.#rules = { minOpenMs, openTimeoutMs, leftOpenMs, stuckOpenMs, chatter: sensorChatter };
    this.#journal = new DoorJournal(s, this.#handlers);
  }

  register(purpose: OpenPurpose, handlers: OpenHandlers): void {
    this.#handlers.set(purpose, handlers);
  }

  start(): void {
    this.#unsubscribe.push(this.s.board.doors.onEdge((edge) => this.#onSwitch(edge)));
    // Item-present sensors, where the board has them (Kerong): the machine judges what they say, like the switches.
    if (this.s.board.items) this.#unsubscribe.push(this.s.board.items.onChange((change) => this.#onItem(change)));
    this.#unsubscribe.push(this.s.board.onLink((state) => this.#onLink(state)));
  }

  stop(): void {
    this.#stopped = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const slot of this.#doors.values()) if (slot.timer) clearTimeout(slot.timer);
    this.#doors.clear();
  }

  /** Pulses journaled opens in order, one lock at a time. Never throws: failures become journal states. */
  async pulseAll(openIds: readonly number[]): Promise<void> {
    for (const id of openIds) {
      const open = this.s.repos.opens.get(id);
      const c = open && this.s.repos.compartments.get(open.compartmentId);
      if (c) await this.#step(c, { type: 'unlock', openId: id }, 'set-aside');
    }
  }

  /** The storage writes again: opens set aside meanwhile are settled as after a restart, doors re-read. */
  resumeAfterStorageFailure(): void {
    for (const openId of [...this.#stalled]) {
      this.#stalled.delete(openId);
      const open = this.s.repos.opens.get(openId);
      if (open && (open.state === 'journaled' || open.state === 'pulsed' || open.state === 'opened') && !this.#awaitsDoor(open)) {
        this.#settle(open, 'the database could not record this door while it was pulsed: check the contents, then enable');
      }
    }
    if (this.s.board.link === 'ok') this.syncDoors();
  }

  /** Reads one compartment's switch afresh (after ops enabled it again: a repaired switch is believed at once). */
  readSwitch(compartmentId: string): void {
    const c = this.s.repos.compartments.get(compartmentId);
    if (c && this.s.board.link === 'ok') void this.#step(c, { type: 'read' }, 'log');
  }

  /** Brings stored door states in line with what the sensors say; doors found open get their reminders. */
  syncDoors(): void {
    for (const c of this.s.repos.compartments.all()) this.#step(c, { type: 'read' }, 'throw');
  }

  /**
   * After a restart: every open still in progress is settled from the sensors, never by pulsing again
   * (`afterRestart` in the door machine says how).
   */
  reconcileJournal(): void {
    if (this.#reconciled) return;
    this.#reconciled = true;
    for (const open of this.s.repos.opens.allActive()) this.#settle(open);
  }

  #settle(open: OpenRow, unseenPulse = 'a restart found this door shut after a pulse nobody saw: check the contents, then enable'): void {
    const c = this.s.repos.compartments.get(open.compartmentId)!;
    const switchSays = this.s.board.doors.isOpen(c.doorSensor);
    const itemSeen = this.s.board.items ? this.s.board.items.isPresent(c.lockChannel) : undefined;
    this.s.store.change((ctx) => this.#journal.settleAfterRestart(ctx, open, switchSays, unseenPulse, itemSeen));
  }

  /** The open's pulse is over and its door is being watched for (its timer will retry or call it jammed). */
  #awaitsDoor(open: OpenRow): boolean {
    const phase = this.#doors.get(open.compartmentId)?.state.phase;
    return phase?.name === 'unlocking' && phase.openId === open.id && phase.watching;
  }

  #onSwitch(edge: DoorEdge): void {
    const c = this.s.repos.compartments.bySensor(edge.sensor);
    if (!c) {
      this.s.logger.debug({ sensor: edge.sensor }, 'edge on a sensor no compartment uses');
      return;
    }
    this.#step(c, { type: 'switch', open: edge.open }, 'log');
  }

  #onItem(change: ItemChange): void {
    const c = this.s.repos.compartments.byLock(change.lockId);
    if (!c) {
      this.s.logger.debug({ lockId: change.lockId }, 'item sensor change on a lock no compartment uses');
      return;
    }
    this.#step(c, { type: 'item', present: change.present }, 'log');
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

  /**
   * One step of a compartment's machine: the new state is kept, its timer set, its rows written in one change;
   * only if they were written does it pulse (the pulse is returned, so `pulseAll` waits for it) or read again.
   */
  #step(c: CompartmentRow, event: DoorEvent, whenNotRecorded: WhenNotRecorded): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    const slot = this.#slot(c.id);
    const { door, effects } = stepDoor(slot.state, event, this.#facts(c), this.s.store.clock.now(), this.#rules);
    slot.state = door;
    for (const e of effects) if (e.type === 'timer') this.#setTimer(c.id, slot, e.afterMs);
    if (!this.#record(c.id, event, effects.filter(isJournalEffect), whenNotRecorded)) return undefined;
    let pulse: Promise<void> | undefined;
    for (const e of effects) {
      if (e.type === 'pulse') pulse = this.#energise(c, e.openId, e.attempt);
      else if (e.type === 'read-switch') this.#step(this.s.repos.compartments.get(c.id)!, { type: 'read' }, whenNotRecorded);
      else if (e.type === 'judge-contents') this.#step(this.s.repos.compartments.get(c.id)!, { type: 'contents' }, whenNotRecorded);
    }
    return pulse;
  }

  #record(compartmentId: string, event: DoorEvent, writes: readonly JournalEffect[], whenNotRecorded: WhenNotRecorded): boolean {
    if (writes.length === 0) return true;
    try {
      this.s.store.change((ctx) => {
        for (const e of writes) this.#journal.write(ctx, compartmentId, e);
      });
      return true;
    } catch (error) {
      if (!(error instanceof StorageUnavailableError) || whenNotRecorded === 'throw') throw error;
      const setAside = whenNotRecorded === 'set-aside' ? writes.flatMap((e) => ('openId' in e ? [e.openId] : [])) : [];
      for (const id of setAside) this.#stalled.add(id);
      this.s.logger.error({ compartment: compartmentId, event: event.type, err: error.message },
        setAside.length > 0 ? 'door step not recorded: the door is left alone until the database writes again' : 'door step not recorded: the switches are read again when the database writes again');
      return false;
    }
  }

  #facts(c: CompartmentRow): DoorFacts {
    const active = this.s.repos.opens.activeOn(c.id);
    return {
      recorded: c.door,
      service: c.service,
      active: active ? { id: active.id, state: active.state, purpose: active.purpose } : null,
      switchSays: this.s.board.doors.isOpen(c.doorSensor),
      boardOnline: this.s.board.link === 'ok',
      ...(this.s.board.items ? { items: { seen: this.s.board.items.isPresent(c.lockChannel), bound: c.caseNo !== null || c.depositId !== null, held: c.hold !== null } } : {}),
    };
  }

  #slot(compartmentId: string): DoorSlot {
    let slot = this.#doors.get(compartmentId);
    if (!slot) this.#doors.set(compartmentId, (slot = { state: shutDoor, timer: null }));
    return slot;
  }

  #setTimer(compartmentId: string, slot: DoorSlot, afterMs: number | null): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (afterMs === null) return;
    const failed = (error: unknown) => this.s.logger.error({ compartment: compartmentId, err: (error as Error).message }, 'a door timer could not be handled');
    slot.timer = setTimeout(() => {
      slot.timer = null;
      try {
        const c = this.s.repos.compartments.get(compartmentId);
        // A retry's pulse runs on from here; nobody awaits it, so its failure is logged, not left unhandled.
        if (c) this.#step(c, { type: 'timer' }, 'set-aside')?.catch(failed);
      } catch (error) {
        failed(error);
      }
    }, afterMs);
    slot.timer.unref();
  }

  /** Energises the lock (the driver runs one pulse at a time); how it ended is the machine's next event. */
  async #energise(c: CompartmentRow, openId: number, attempt: 1 | 2): Promise<void> {
    if (attempt === 2) this.s.logger.warn({ compartment: c.id }, 'door did not open after the pulse: retrying once');
    const stillWanted = () => {
      const now = this.s.repos.opens.get(openId);
      return !this.#stopped && (now?.state === 'journaled' || now?.state === 'pulsed');
    };
    let outcome: PulseOutcome = 'released';
    try {
      await this.s.board.locks.pulse(c.lockChannel, { doorSensor: c.doorSensor, stillWanted });
    } catch (error) {
      if (this.#stopped) return; // shutting down: the next start reconciles this open from the sensors
      const energised = error instanceof HardwareUnavailableError && error.energised;
      this.s.logger.warn({ compartment: c.id, err: (error as Error).message, energised }, 'lock pulse failed');
      outcome = energised ? 'lost-mid-pulse' : 'not-energised';
    }
    if (this.#stopped) return;
    const fresh = this.s.repos.compartments.get(c.id);
    if (fresh) this.#step(fresh, { type: 'pulse-ended', openId, attempt, outcome }, 'set-aside');
  }
}
