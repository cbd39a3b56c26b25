import type { StillCamera, StillCapture } from '../../firmware-bridge/ports.ts';
import { raiseAlarm } from './alarms.ts';
import type { ServiceContext } from './context.ts';

/** `unknown`: not yet heard since start; `up`: the last capture or probe got a still; `down`: it did not. */
export type CameraState = 'unknown' | 'up' | 'down';

/** While the camera is down it is asked for a still this often (ms). */
export const CAMERA_PROBE_MS = 30_000;

export type CameraWatchContext = Pick<ServiceContext, 'store' | 'repos' | 'logger'>;

/**
 * Whether the camera answers, from every capture and probe. The first failure (after start, or after it was
 * up) is `camera.unreachable` with a `camera-unreachable` alarm, and the camera is probed every 30 s; the
 * next still is `camera.restored`. The alarm stays until ops acknowledge it, as every alarm does: a camera
 * that went down again meanwhile names the open alarm (`again: true`) instead of raising another. A camera
 * the cabinet cannot work without (`camera.required`) is probed while it is up too, so one that dies while the
 * hall is quiet stops service before the next applicant, not after their doors opened.
 */
export class CameraWatch {
  #state: CameraState = 'unknown';
  #downSince: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #probing: Promise<void> | null = null;
  #stopped = false;

  constructor(private readonly s: CameraWatchContext, private readonly camera: StillCamera, private readonly probeMs = CAMERA_PROBE_MS, private readonly probeWhileUp = false) {}

  get state(): CameraState {
    return this.#state;
  }

  /** Asks once at start: a camera that is required must be seen up before the kiosk serves anyone. */
  start(): void {
    void this.probe();
    if (this.probeWhileUp) this.#startProbing();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopProbing();
    await this.#probing;
  }

  /** One still asked for and dropped: only whether it came counts. */
  probe(): Promise<void> {
    this.#probing ??= this.camera.capture().then((result) => this.saw(result)).finally(() => {
      this.#probing = null;
    });
    return this.#probing;
  }

  /** What a capture or a probe got. */
  saw(result: StillCapture): void {
    if (this.#stopped) return;
    if (result.ok) {
      const was = this.#state;
      this.#state = 'up';
      if (!this.probeWhileUp) this.#stopProbing();
      if (was === 'down') this.#restored();
      else if (was === 'unknown') this.s.logger.info({ part: 'camera' }, 'the camera answers');
      return;
    }
    if (this.#state === 'down') return;
    this.#state = 'down';
    this.#downSince = this.s.store.clock.now();
    this.#unreachable(result);
    this.#startProbing();
  }

  #unreachable(failure: Extract<StillCapture, { ok: false }>): void {
    const { reason, message } = failure;
    this.s.logger.warn({ part: 'camera', reason }, `camera unreachable: ${message}`);
    this.#record((ctx) => {
      const { alarms } = this.s.repos;
      const open = alarms.open().find((a) => a.kind === 'camera-unreachable');
      if (open) {
        ctx.event('camera.unreachable', { reason, message, alarmId: open.id, again: true });
        return;
      }
      const alarmId = raiseAlarm(alarms, ctx, 'camera-unreachable', null, { reason, message });
      ctx.event('camera.unreachable', { reason, message, alarmId });
      ctx.audit('cabinet', 'camera.unreachable', { reason, alarmId });
    });
  }

  #restored(): void {
    const since = this.#downSince ?? this.s.store.clock.now();
    this.#downSince = null;
    this.#record((ctx) => {
      const open = this.s.repos.alarms.open().find((a) => a.kind === 'camera-unreachable');
      const data = { since: new Date(since).toISOString(), downSeconds: Math.round((ctx.now - since) / 1000), alarmId: open?.id ?? null };
      ctx.event('camera.restored', data);
      ctx.audit('cabinet', 'camera.restored', data);
    });
    this.s.logger.info({ part: 'camera' }, 'the camera answers again');
  }

  #record(write: Parameters<CameraWatchContext['store']['change']>[0]): void {
    try {
      this.s.store.change(write);
    } catch (error) {
      this.s.logger.error({ part: 'camera', err: (error as Error).message }, 'the camera\'s state change was not recorded');
    }
  }

  #startProbing(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.probe(), this.probeMs);
    this.#timer.unref();
  }

  #stopProbing(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
