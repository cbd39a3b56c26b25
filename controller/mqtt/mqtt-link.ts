import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { ListenerSet } from '../../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../../firmware-bridge/ports.ts';
import type { MqttConfig } from '../config/schema.ts';

export type MqttState = 'connected' | 'offline';

export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
  /** MQTT v5 message expiry; ignored on a 3.1.1 broker. */
  readonly expirySeconds?: number;
}

export interface MqttLinkOptions {
  readonly config: MqttConfig;
  readonly clientId: string;
  readonly will: { topic: string; payload: string };
  readonly subscriptions: readonly string[];
  readonly logger: Logger;
  readonly random?: () => number;
}

/**
 * The cabinet's one connection to the central broker: a persistent session (clean: false), MQTT v5 with a
 * fall-back to 3.1.1 when the broker refuses it, TCP_NODELAY (QoS-1 hops otherwise stall on Nagle), the last
 * will, and a jittered exponential reconnect of our own (mqtt.js's fixed period makes a fleet reconnect in step).
 */
export class MqttLink {
  readonly #connected = new ListenerSet<void>();
  readonly #state = new ListenerSet<MqttState>();
  readonly #messages = new ListenerSet<{ topic: string; payload: Buffer }>();
  #client: MqttClient | null = null;
  #protocol: 5 | 4 = 5;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #state_: MqttState = 'offline';
  /** How to fail each publish still waiting for its PUBACK on the current connection. */
  readonly #awaitingAck = new Set<(error: Error) => void>();

  constructor(private readonly o: MqttLinkOptions) {}

  get state(): MqttState {
    return this.#state_;
  }

  get protocolVersion(): 5 | 4 {
    return this.#protocol;
  }

  onConnected(listener: () => void): Unsubscribe {
    return this.#connected.add(listener);
  }
  onState(listener: (state: MqttState) => void): Unsubscribe {
    return this.#state.add(listener);
  }
  onMessage(listener: (message: { topic: string; payload: Buffer }) => void): Unsubscribe {
    return this.#messages.add(listener);
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** Resolves on PUBACK (QoS 1) or once written (QoS 0); rejects when offline: the caller keeps the durable copy. */
  publish(topic: string, payload: string | Buffer, options: PublishOptions): Promise<void> {
    const client = this.#client;
    if (!client || this.#state_ !== 'connected') return Promise.reject(new Error('MQTT offline'));
    const properties = this.#protocol === 5 && options.expirySeconds ? { messageExpiryInterval: Math.max(1, Math.round(options.expirySeconds)) } : undefined;
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.#awaitingAck.delete(fail);
        reject(error);
      };
      this.#awaitingAck.add(fail);
      client.publish(topic, payload, { qos: options.qos, retain: options.retain ?? false, properties }, (error) => {
        this.#awaitingAck.delete(fail);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Publishes the final messages (e.g. "offline" status), waits briefly for their acks, and closes. */
  async stop(final: { topic: string; payload: string; retain: boolean }[] = []): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    if (!client) return;
    if (this.#state_ === 'connected') {
      await Promise.race([
        Promise.allSettled(final.map((m) => this.publish(m.topic, m.payload, { qos: 1, retain: m.retain }))),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.#client = null;
    this.#setState('offline');
  }

  #options(): IClientOptions {
    const { config } = this.o;
    const tls = config.tls;
    return {
      clientId: this.o.clientId,
      clean: false,
      protocolVersion: this.#protocol,
      // A v5 session survives the connection for a day; 3.1.1 sessions persist until the broker drops them.
      properties: this.#protocol === 5 ? { sessionExpiryInterval: 86_400 } : undefined,
      keepalive: config.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      username: config.username,
      password: config.password,
      ca: tls?.ca ? readFileSync(tls.ca) : undefined,
      cert: tls?.cert ? readFileSync(tls.cert) : undefined,
      key: tls?.key ? readFileSync(tls.key) : undefined,
      will: { topic: this.o.will.topic, payload: Buffer.from(this.o.will.payload), qos: 1, retain: true },
      queueQoSZero: false,
      resubscribe: true,
    };
  }

  #connect(): void {
    if (this.#stopped) return;
    const client = mqtt.connect(this.o.config.url, this.#options());
    this.#client = client;
    let refusedProtocol = false;
    client.on('connect', (connack) => {
      this.#attempt = 0;
      (client.stream as Socket).setNoDelay?.(true);
      if (!connack.sessionPresent || this.o.subscriptions.length > 0) {
        client.subscribe([...this.o.subscriptions], { qos: 1 }, (error) => {
          if (error) this.o.logger.error({ err: error.message }, 'MQTT subscribe failed');
        });
      }
      this.o.logger.info({ url: redactMqttUrl(this.o.config.url), protocol: this.#protocol === 5 ? '5.0' : '3.1.1', sessionPresent: connack.sessionPresent }, 'MQTT connected');
      this.#setState('connected');
      this.#connected.emit();
    });
    client.on('message', (topic, payload) => this.#messages.emit({ topic, payload }));
    client.on('error', (error: Error & { code?: number }) => {
      // 3.1.1 brokers answer a v5 CONNECT with return code 1; v5 brokers may say 132 (unsupported version).
      if (this.#protocol === 5 && (error.code === 1 || error.code === 132 || /protocol/i.test(error.message))) {
        refusedProtocol = true;
        return;
      }
      this.o.logger.warn({ err: error.message, code: error.code }, 'MQTT error');
    });
    client.on('close', () => {
      if (this.#client !== client) return;
      this.#setState('offline');
      // mqtt.js never calls back the QoS-1 publishes of a dropped clean: false client (it would resend them
      // itself, but this client is discarded): fail them, or their callers (the notify drainer) wait forever.
      for (const fail of [...this.#awaitingAck]) fail(new Error('MQTT connection lost before the broker acknowledged'));
      if (this.#stopped) return;
      client.removeAllListeners();
      client.end(true);
      this.#client = null;
      if (refusedProtocol) {
        this.o.logger.info('the broker does not speak MQTT 5: using 3.1.1');
        this.#protocol = 4;
        this.#connect();
        return;
      }
      this.#scheduleReconnect();
    });
  }

  #scheduleReconnect(): void {
    const { minMs, maxMs } = this.o.config.reconnect;
    const base = Math.min(maxMs, minMs * 2 ** this.#attempt);
    const delay = base / 2 + (this.o.random ?? Math.random)() * (base / 2);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.#connect();
      } catch (error) {
        // The TLS files are read at each connect: one missing now (mid-rotation, say) would otherwise throw out of
        // this timer and take the whole cabinet down. Stay offline (events wait in the outbox) and try again.
        this.o.logger.error({ err: (error as Error).message }, 'MQTT cannot reconnect: retrying');
        this.#scheduleReconnect();
      }
    }, delay);
    this.#timer.unref();
  }

  #setState(state: MqttState): void {
    if (state === this.#state_) return;
    this.#state_ = state;
    if (state === 'offline') this.o.logger.warn({ url: redactMqttUrl(this.o.config.url) }, 'MQTT offline: events wait in the outbox');
    this.#state.emit(state);
  }
}

/** Credentials in a broker URL never reach a log. */
export const redactMqttUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');
