import { randomBytes } from 'node:crypto';
import type { StillCamera } from '../../firmware-bridge/ports.ts';
import { Refusal } from '../domain/refusal.ts';
import { firstKeptDay, newSnapshotId, snapshotDay } from '../domain/snapshot-id.ts';
import type { OutOfServiceCause } from '../events/bus.ts';
import { SnapshotFiles } from '../store/snapshot-files.ts';
import type { ChangeContext } from '../store/store.ts';
import { CameraWatch, type CameraWatchContext } from './camera-watch.ts';
import type { ServiceContext } from './context.ts';
import { PeriodicSweep } from './periodic.ts';

/** Old days of stills are looked for this often. */
const RETENTION_SWEEP_MS = 3_600_000;
/** Without a camera configured, stills an earlier configuration left are kept as long as the default. */
const DEFAULT_RETENTION_DAYS = 30;

export type EvidenceContext = CameraWatchContext & Pick<ServiceContext, 'config' | 'keyring'>;

/** Why an applicant is refused for want of the camera, and where to go instead. */
export interface EvidenceRefusal {
  readonly cause: OutOfServiceCause;
  readonly window: string;
}

export type CameraHealth = 'ok' | 'down' | 'unknown' | 'absent';

export interface EvidenceTiming {
  /** How often a camera that is down (or a required one) is asked again (default 30 s). */
  readonly probeMs?: number;
}

/**
 * Camera evidence: a still at every door open and close. A door event's change reserves an id (in the
 * event's `data.snapshot`) and the capture runs after the commit, never holding the change; the still, or a
 * note of why there is none, is stored under the id's day. Stills older than `camera.retentionDays` are
 * swept away hourly. Ops view them (audited) by id. Where `camera.required`, a camera not seen answering
 * refuses service (`refusal()`).
 */
export class EvidenceService {
  readonly #files: SnapshotFiles;
  readonly #watch: CameraWatch | null;
  readonly #pending = new Map<string, Promise<void>>();
  readonly #sweep: PeriodicSweep;

  constructor(private readonly s: EvidenceContext, private readonly camera: StillCamera | null, timing: EvidenceTiming = {}) {
    this.#files = new SnapshotFiles(s.config.dataDir, s.keyring);
    this.#watch = camera ? new CameraWatch(s, camera, timing.probeMs, s.config.camera?.required === true) : null;
    this.#sweep = new PeriodicSweep(() => void this.sweepRetention().catch((error: unknown) => this.#sweepFailed(error)), RETENTION_SWEEP_MS, (error) => this.#sweepFailed(error));
  }

  /** The camera as /health says it: `ok`, `down`, `unknown` (not yet heard since start), `absent` (none configured). */
  get health(): CameraHealth {
    const state = this.#watch?.state;
    return state === undefined ? 'absent' : state === 'up' ? 'ok' : state;
  }

  start(): void {
    this.#watch?.start();
    this.#sweep.start();
  }

  /** Stops the probe and the sweep; captures under way finish (each within `camera.timeoutMs`). */
  async stop(): Promise<void> {
    this.#sweep.stop();
    await this.#watch?.stop();
    await Promise.allSettled([...this.#pending.values()]);
  }

  /**
   * Inside the change of a door event: the id of the still to be taken once the change commits, for the
   * event's `data.snapshot`; null without a camera. A change rolled back takes no still.
   */
  reserve(ctx: ChangeContext): string | null {
    if (!this.camera) return null;
    const id = newSnapshotId(ctx.now, randomBytes(12));
    ctx.afterCommit(() => this.#capture(id));
    return id;
  }

  /**
   * Where `camera.required`: the refusal while the camera is down or not yet seen answering since start
   * (`out-of-service`, cause `camera-unavailable`, and the window to go to); otherwise null. Every flow that
   * opens a door for an applicant asks this.
   */
  refusal(): EvidenceRefusal | null {
    if (!this.s.config.camera?.required || this.#watch?.state === 'up') return null;
    return { cause: 'camera-unavailable', window: this.s.config.policy.helpWindow };
  }

  /**
   * The still `id` for `viewer` (audited under their name), once its capture is done; a refusal saying the
   * capture failed and why, or that the still is unknown or past its keeping period.
   */
  async still(id: string, viewer: string): Promise<Buffer> {
    const day = snapshotDay(id);
    if (day === null) throw new Refusal('invalid', 'malformed-snapshot-id', 'id is not a snapshot id: take it from a door event\'s data.snapshot', {}, 'id');
    await this.#pending.get(id);
    const found = await this.#files.read(id);
    if (found.kind === 'failed') {
      throw new Refusal('not-found', 'capture-failed', `no still ${id}: the capture failed (${found.reason}): ${found.message}`, { snapshot: id, reason: found.reason, failedAt: found.at }, 'id');
    }
    if (found.kind === 'unreadable') {
      throw new Refusal('not-found', 'snapshot-unreadable', `no still ${id}: the file kept for it does not open with this cabinet's key (damaged, or not this cabinet's)`, { snapshot: id }, 'id');
    }
    if (found.kind === 'missing') {
      const kept = this.#retentionDays();
      if (day < firstKeptDay(this.s.store.clock.now(), kept)) {
        throw new Refusal('not-found', 'snapshot-expired', `no still ${id}: it was taken on ${day}, and stills are kept ${kept} days (camera.retentionDays)`, { snapshot: id, day }, 'id');
      }
      throw new Refusal('not-found', 'unknown-snapshot', `no still ${id}: this cabinet took none with this id (check it against the door event's data.snapshot)`, { snapshot: id }, 'id');
    }
    this.s.store.change((ctx) => ctx.audit(viewer, 'snapshot.viewed', { snapshot: id }));
    return found.jpeg;
  }

  /** Deletes the days of stills past `camera.retentionDays`; answers the days deleted. */
  async sweepRetention(): Promise<string[]> {
    const deleted = await this.#files.deleteDaysBefore(firstKeptDay(this.s.store.clock.now(), this.#retentionDays()));
    if (deleted.length > 0) this.s.logger.info({ part: 'camera', days: deleted }, `stills older than ${this.#retentionDays()} days deleted`);
    return deleted;
  }

  #capture(id: string): void {
    const camera = this.camera!;
    const job = (async () => {
      const result = await camera.capture();
      this.#watch?.saw(result);
      if (result.ok) await this.#files.writeStill(id, result.jpeg);
      else await this.#files.writeFailure(id, { reason: result.reason, message: result.message, at: new Date(this.s.store.clock.now()).toISOString() });
    })().catch((error: unknown) => {
      this.s.logger.error({ part: 'camera', snapshot: id, err: (error as Error).message }, 'a still could not be stored');
    }).finally(() => this.#pending.delete(id));
    this.#pending.set(id, job);
  }

  #retentionDays(): number {
    return this.s.config.camera?.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }

  #sweepFailed(error: unknown): void {
    this.s.logger.error({ part: 'camera', err: (error as Error).message }, 'old stills not deleted: tried again in an hour');
  }
}
