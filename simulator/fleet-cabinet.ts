import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { StatusSnapshot } from '../controller/mqtt/status-reporter.ts';
import { Topics } from '../controller/mqtt/topics.ts';
import type { CabinetEvent } from '../controller/store/event-outbox.ts';

/** What a simulated cabinet publishes on `…/events`: the same shape as a real cabinet's (CONTRACT §4). */
export type SimulatedEvent = CabinetEvent;

export interface SimulatedCabinetOptions {
  readonly mqttUrl: string;
  readonly cabinetId: string;
  /** The seq of its first event (a cabinet that has run before starts higher). */
  readonly firstSeq?: number;
  readonly compartments?: StatusSnapshot['compartments'];
  readonly now?: () => number;
}

const ROUTINE_EVENTS = ['door.opened', 'door.closed', 'item.loaded', 'case.ready', 'pickup.completed'] as const;

/**
 * A light cabinet for the fleet monitor's tests and benchmarks: no Firmata, no SQLite, just the MQTT face of
 * one (its own client id, the retained status with the last will, events with a rising seq). Its event
 * outbox is mqtt.js's memory: fine for a simulation, not for a cabinet.
 */
export class SimulatedCabinet {
  readonly id: string;
  readonly topics: Topics;
  readonly bootId = randomUUID();
  #nextSeq: number;
  #client: MqttClient | null = null;
  #published = 0;

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

  /** Connects (the status follows on every connect) and resolves once the broker has the status. */
  async connect(timeoutMs = 10_000): Promise<void> {
    const client = mqtt.connect(this.o.mqttUrl, {
      clientId: `govlocker-sim-${this.id}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      connectTimeout: timeoutMs,
      reconnectPeriod: 1000 + Math.floor(Math.random() * 1000),
      will: { topic: this.topics.status, payload: Buffer.from(JSON.stringify({ online: false, bootId: this.bootId })), qos: 1, retain: true },
    });
    this.#client = client;
    let firstConnect = true;
    client.on('connect', () => {
      (client.stream as Socket).setNoDelay?.(true);
      // The first status is connect()'s to await; after a reconnect the status is said again.
      if (firstConnect) firstConnect = false;
      else void this.publishStatus().catch(() => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => {
        clearTimeout(timer);
        client.removeListener('connect', connected);
        client.end(true);
        if (this.#client === client) this.#client = null;
        reject(new Error(`simulated cabinet ${this.id}: ${reason}`));
      };
      const timer = setTimeout(() => fail(`no connection to ${this.o.mqttUrl} within ${timeoutMs} ms`), timeoutMs);
      const connected = () => {
        clearTimeout(timer);
        client.removeListener('error', refused);
        resolve();
      };
      const refused = (error: Error) => fail(`the broker refused the connection: ${error.message}`);
      client.once('connect', connected);
      client.once('error', refused);
    });
    // Later errors: mqtt.js reconnects on its own.
    client.on('error', () => undefined);
    await this.publishStatus();
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
    this.#client?.end(true);
    this.#client = null;
  }

  /** A clean shutdown: "offline" on the status (retained), then DISCONNECT. */
  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    if (client.connected) {
      await client.publishAsync(this.topics.status, JSON.stringify({ online: false, bootId: this.bootId }), { qos: 1, retain: true }).catch(() => undefined);
    }
    await client.endAsync(client.connected ? false : true).catch(() => undefined);
  }

  #require(): MqttClient {
    if (!this.#client) throw new Error(`simulated cabinet ${this.id} is not running`);
    return this.#client;
  }

  #now(): number {
    return (this.o.now ?? Date.now)();
  }
}
