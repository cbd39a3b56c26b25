import type { Logger } from 'pino';
import type { MqttLink } from './mqtt-link.ts';
import type { Topics } from './topics.ts';

export interface StatusSnapshot {
  online: true;
  bootId: string;
  ts: string;
  version: string;
  compartments: { total: number; empty: number; loaded: number; fault: number; disabled: number };
  hardware: 'ok' | 'lost';
  /** Whether the database takes writes (an extension of CONTRACT §4: a full disk is visible to ops). */
  storage: 'ok' | 'failing';
  outbox: number;
}

/**
 * The retained `…/status`: published on every (re)connect, when something it shows changes (coalesced), and
 * every minute; its last will says offline, and a clean shutdown says so too.
 */
export class StatusReporter {
  #timer: NodeJS.Timeout | null = null;
  #pending: NodeJS.Timeout | null = null;

  constructor(
    private readonly link: MqttLink,
    private readonly topics: Topics,
    private readonly snapshot: () => StatusSnapshot,
    private readonly logger: Logger,
  ) {}

  static offline(bootId: string): string {
    return JSON.stringify({ online: false, bootId });
  }

  start(): void {
    this.link.onConnected(() => void this.publish());
    this.#timer = setInterval(() => void this.publish(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pending) clearTimeout(this.#pending);
    this.#timer = this.#pending = null;
  }

  /** Something shown in the status changed: publish once the burst is over. */
  changed(): void {
    if (this.#pending) return;
    this.#pending = setTimeout(() => {
      this.#pending = null;
      void this.publish();
    }, 200);
  }

  async publish(): Promise<void> {
    if (this.link.state !== 'connected') return;
    try {
      await this.link.publish(this.topics.status, JSON.stringify(this.snapshot()), { qos: 1, retain: true });
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'status not published');
    }
  }
}
