import type { StorageState } from '../store/storage-health.ts';
import { raiseAlarm } from './alarms.ts';
import type { ServiceContext } from './context.ts';
import type { DoorService } from './doors.ts';

/** How often a failing database is tried again with a small write of its own. */
const PROBE_MS = 2000;
/** The probe writes about a page's worth, so a database that cannot grow fails it as a real change would. */
const PROBE_BYTES = 8192;

/**
 * Watches the database's writes. While they fail (disk full, I/O error): every change is refused with
 * "out of service", no door is pulsed (a pulse needs its journal row first), /health, /metrics and the MQTT
 * status say `storage: failing`, and a small probe write is tried every 2 s. When a write succeeds again:
 * an alarm that stays until ops acknowledge it, a `storage.failed` event for the episode, and the doors and
 * the journal are settled from the sensors.
 */
export class StorageWatch {
  #probe: NodeJS.Timeout | null = null;
  #off: (() => void) | null = null;
  /**
   * The failure not yet recorded. A nearly full disk flaps (small writes pass, bigger ones fail): the flaps
   * are one episode, recorded once, when a write of its own succeeds.
   */
  #episode: { code: string; since: number; refusedChanges: number } | null = null;

  constructor(private readonly s: ServiceContext, private readonly doors: DoorService) {}

  start(): void {
    this.#off = this.s.store.health.onChange(({ now, was }) => {
      if (!now.ok) this.#failing(now);
      // Recorded outside the change that found the storage writable again, so events stay in seq order.
      else if (!was.ok) {
        if (this.#episode) this.#episode.refusedChanges += was.failedChanges;
        setImmediate(() => this.#record());
      }
    });
  }

  stop(): void {
    this.#off?.();
    this.#stopProbe();
  }

  #failing(state: Extract<StorageState, { ok: false }>): void {
    if (!this.#episode) {
      this.#episode = { code: state.code, since: state.since, refusedChanges: 0 };
      this.s.logger.error({ code: state.code }, 'the database cannot be written: loads, pickups and opens are refused until it can');
    }
    this.#episode.code = state.code;
    if (this.#probe) return;
    this.#probe = setInterval(() => this.#tryWrite(), PROBE_MS);
    this.#probe.unref();
  }

  #tryWrite(): void {
    try {
      this.s.store.change(() => {
        const db = this.s.store.db;
        db.prepare(`INSERT INTO meta (key, value) VALUES ('storage.probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run('x'.repeat(PROBE_BYTES));
        db.prepare(`DELETE FROM meta WHERE key = 'storage.probe'`).run();
      });
    } catch {
      // Still failing: the health says so already; the next probe tries again.
    }
  }

  #record(): void {
    const episode = this.#episode;
    if (!episode || !this.s.store.health.state.ok) return;
    const recoveredAt = this.s.store.clock.now();
    const data = { code: episode.code, since: new Date(episode.since).toISOString(), recoveredAt: new Date(recoveredAt).toISOString(), refusedChanges: episode.refusedChanges };
    try {
      this.s.store.change((ctx) => {
        const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'storage-failed', null, data);
        ctx.event('storage.failed', { ...data, alarmId });
        ctx.audit('cabinet', 'storage.failed', { ...data, alarmId });
      });
    } catch {
      return; // failing again: the probe carries on and the episode is recorded on the next success
    }
    this.#episode = null;
    this.#stopProbe();
    this.s.logger.warn(data, 'the database is writable again');
    try {
      this.doors.resumeAfterStorageFailure();
    } catch (error) {
      this.s.logger.error({ err: (error as Error).message }, 'doors not settled after the storage failure: they are at the next start');
    }
  }

  #stopProbe(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = null;
  }
}
