import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { StatusSnapshot } from '../controller/mqtt/status-reporter.ts';
import { Topics } from '../controller/mqtt/topics.ts';
import type { CabinetEvent } from '../controller/store/event-outbox.ts';
import { backoffDelay, FLEET_BACKOFF, type BackoffBounds } from './reconnect-backoff.ts';

/** What a simulated cabinet publishes on `…/events`: the same shape as a real cabinet's (CONTRACT §4). */
export type SimulatedEvent = CabinetEvent;

export interface SimulatedCabinetOptions {
  readonly mqttUrl: string;
  readonly cabinetId: string;
  /** Logs in with user name = its cabinet id and this password (a broker with the per-cabinet ACL). */
  readonly password?: string;
  /** The seq of its first event (a cabinet that has run before starts higher). */
  readonly firstSeq?: number;
  readonly compartments?: StatusSnapshot['compartments'];
  readonly now?: () => number;
  readonly random?: () => number;
  readonly backoff?: BackoffBounds;
  /** How long a connection attempt may wait for the broker's CONNACK. */
  readonly connectTimeoutMs?: number;
  /** Told of every failed connection attempt (each is retried with backoff). */
  readonly onConnectionProblem?: (cabinet: SimulatedCabinet, error: Error) => void;
}

const ROUTINE_EVENTS = ['door.opened', 'door.closed', 'item.loaded', 'case.ready', 'pickup.completed'] as const;
/** How long a clean stop waits for the broker to take the "offline" status before it just closes. */
const STOP_WAIT_MS = 1000;

const within = <T>(promise: Promise<T>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true, () => false),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
  ]).finally(() => clearTimeout(timer));
};

/**
 * A light cabinet for the fleet monitor's tests and benchmarks: no Firmata, no SQLite, just the MQTT face of
 * one (its own client id, the retained status with the last will, events with a rising seq). Its event
 * outbox is mqtt.js's memory: fine for a simulation, not for a cabinet. It reconnects on its own, with
 * exponential backoff and full jitter (mqtt.js's fixed period would bring a whole fleet back in lockstep, and
 * thousands of clients retrying every second keep a core busy while the broker is away).
 */
export class SimulatedCabinet {
  readonly id: string;
  readonly topics: Topics;
  readonly bootId = randomUUID();
  #nextSeq: number;
  #client: MqttClient | null = null;
  #published = 0;
  /** Between connect() and stop()/crash(). */
  #running = false;
  #everConnected = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  /** Settles connect()'s promise: the first status is with the broker, or the start gave up. */
  #settleFirst: ((error: Error | null) => void) | null = null;

  constructor(private readonly o: SimulatedCabinetOptions) {
    this.id = o.cabinetId;
    this.topics = new Topics(o.cabinetId);
    this.#nextSeq = o.firstSeq ?? 1;
  }

  /** The seq the next event will carry. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  get published(): number {
    return this.#published;
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /**
   * Connects and resolves once the broker has the status. A broker that cannot be reached (yet) is retried with
   * backoff; a broker that refuses the cabinet (credentials, ACL) rejects at once, and so does `signal`.
   * Afterwards the cabinet reconnects on its own (the status follows every connect) until stop() or crash().
   */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#running) throw new Error(`simulated cabinet ${this.id} is running already`);
    const { signal } = options;
    if (signal?.aborted) throw signal.reason;
    this.#running = true;
    this.#attempt = 0;
    const first = new Promise<void>((resolve, reject) => {
      this.#settleFirst = (error) => {
        this.#settleFirst = null;
        if (error) reject(error);
        else resolve();
      };
    });
    const onAbort = () => {
      this.#settleFirst?.(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
      void this.stop();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.#open();
      await first;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #open(): void {
    const client = mqtt.connect(this.o.mqttUrl, {
      clientId: `govlocker-sim-${this.id}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      connectTimeout: this.o.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 0, // our own backoff, below
      ...(this.o.password === undefined ? {} : { username: this.id, password: this.o.password }),
      will: { topic: this.topics.status, payload: Buffer.from(JSON.stringify({ online: false, bootId: this.bootId })), qos: 1, retain: true },
    });
    this.#client = client;
    client.on('connect', () => {
      this.#everConnected = true;
      (client.stream as Socket).setNoDelay?.(true);
      // Said on every connect; the first one is what connect() waits for. The backoff starts over only once the
      // broker has taken it: one that accepts the connection and then drops it (an ACL refusal) is not hammered.
      this.publishStatus().then(() => {
        this.#attempt = 0;
        this.#settleFirst?.(null);
      }, () => undefined);
    });
    client.on('error', (error: Error & { code?: unknown }) => {
      if (this.#client !== client) return;
      // A CONNACK refusal carries the broker's numeric return code; socket errors carry a string code.
      if (typeof error.code === 'number' && !this.#everConnected) {
        this.#settleFirst?.(new Error(`simulated cabinet ${this.id}: the broker refused the connection: ${error.message}`));
        void this.stop();
        return;
      }
      this.o.onConnectionProblem?.(this, error);
    });
    client.on('close', () => {
      if (this.#client !== client || !this.#running) return;
      // This client is done (mqtt.js reconnects nothing with reconnectPeriod 0); the next attempt is a new one.
      client.end(true);
      this.#client = null;
      const delay = backoffDelay(this.#attempt++, this.o.random, this.o.backoff ?? FLEET_BACKOFF);
      this.#retry = setTimeout(() => {
        this.#retry = null;
        if (this.#running) this.#open();
      }, delay);
    });
  }

  status(): StatusSnapshot {
    return {
      online: true,
      bootId: this.bootId,
      ts: new Date(this.#now()).toISOString(),
      version: 'sim',
      compartments: this.o.compartments ?? { total: 24, empty: 20, loaded: 3, fault: 0, disabled: 1 },
      hardware: 'ok',
      storage: 'ok',
      outbox: 0,
    };
  }

  async publishStatus(): Promise<void> {
    await this.#require().publishAsync(this.topics.status, JSON.stringify(this.status()), { qos: 1, retain: true });
  }

  /** Publishes the next event (QoS 1; resolves on PUBACK) and returns it. `ts` is the moment of publishing. */
  async publishEvent(type?: string, data?: Record<string, unknown>): Promise<SimulatedEvent> {
    const client = this.#require();
    const seq = this.#nextSeq++;
    const event: SimulatedEvent = {
      seq, bootId: this.bootId, id: randomUUID(), ts: new Date(this.#now()).toISOString(),
      type: type ?? ROUTINE_EVENTS[seq % ROUTINE_EVENTS.length]!,
      data: data ?? { compartment: `${'ABC'[seq % 3]}${String((seq % 8) + 1).padStart(2, '0')}` },
    };
    this.#published++;
    await client.publishAsync(this.topics.events, JSON.stringify(event), { qos: 1 });
    return event;
  }

  /** The next event's seq jumps by `n`: the monitor should see a gap of `n` events. */
  skipSeq(n = 1): void {
    this.#nextSeq += n;
  }

  /** Power cut: the socket dies without DISCONNECT, so the broker publishes the last will. No reconnect. */
  crash(): void {
    this.#halt();
    this.#client?.end(true);
    this.#client = null;
  }

  /**
   * A clean shutdown: "offline" on the status (retained), then DISCONNECT; in any state (connected,
   * reconnecting, still connecting) and promptly, even when the broker has stopped answering.
   */
  async stop(): Promise<void> {
    this.#halt();
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    if (client.connected) {
      const said = await within(client.publishAsync(this.topics.status, JSON.stringify({ online: false, bootId: this.bootId }), { qos: 1, retain: true }), STOP_WAIT_MS);
      if (said && (await within(client.endAsync(false), STOP_WAIT_MS))) return;
    }
    await client.endAsync(true).catch(() => undefined);
  }

  #halt(): void {
    this.#running = false;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#settleFirst?.(new Error(`simulated cabinet ${this.id} was stopped before it connected`));
  }

  #require(): MqttClient {
    if (!this.#client) throw new Error(`simulated cabinet ${this.id} is not running`);
    return this.#client;
  }

  #now(): number {
    return (this.o.now ?? Date.now)();
  }
}
