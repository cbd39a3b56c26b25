import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { redactMqttUrl } from '../../controller/mqtt/mqtt-link.ts';
import { parseTopic, TOPIC_ROOT } from '../../controller/mqtt/topics.ts';
import type { FleetState } from './fleet-state.ts';
import { CABINET_ID, eventSchema, parsePayload, replySchema, statusSchema } from './payloads.ts';

/** Every cabinet's status (retained, and the last wills), events, and replies (for the monitor's own replays). */
export const FLEET_SUBSCRIPTIONS = [`${TOPIC_ROOT}/+/status`, `${TOPIC_ROOT}/+/events`, `${TOPIC_ROOT}/+/reply`] as const;

export interface FleetSubscriberOptions {
  readonly mqttUrl: string;
  readonly state: FleetState;
  readonly logger: Logger;
  readonly clientId?: string;
}

/**
 * The monitor's one connection to the broker. It reads, parses (zod) and hands every message to the state;
 * it publishes only the monitor's signed commands. A clean session: after a reconnect the retained statuses
 * arrive again, and events missed meanwhile show as gaps (ops may ask for a replay).
 */
export class FleetSubscriber {
  #client: MqttClient | null = null;
  #subscribed!: () => void;
  readonly #firstSubscribed = new Promise<void>((resolve) => (this.#subscribed = resolve));

  constructor(private readonly o: FleetSubscriberOptions) {}

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  start(): void {
    const client = mqtt.connect(this.o.mqttUrl, {
      clientId: this.o.clientId ?? `govlocker-fleet-${randomUUID().slice(0, 8)}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 2000,
      resubscribe: false,
      queueQoSZero: false,
    });
    this.#client = client;
    const url = redactMqttUrl(this.o.mqttUrl);
    client.on('connect', () => {
      (client.stream as Socket).setNoDelay?.(true);
      client.subscribe([...FLEET_SUBSCRIPTIONS], { qos: 1 }, (error, granted) => {
        // A broker's ACL refuses a subscription with QoS 128, not with an error.
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (error || refused.length > 0) {
          this.o.logger.error({ err: error?.message ?? `refused: ${refused.join(', ')}`, url }, 'fleet monitor: subscribe failed (does the broker ACL let the monitor read govlocker/v1/+/status, …/events and …/reply?)');
          return;
        }
        this.o.logger.info({ url }, 'fleet monitor: subscribed to every cabinet');
        this.o.state.setBroker('connected');
        this.#subscribed();
      });
    });
    client.on('close', () => this.o.state.setBroker('offline'));
    client.on('error', (error) => this.o.logger.warn({ err: error.message, url }, 'fleet monitor: MQTT error'));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  /** Resolves once the subscriptions stand (the retained statuses follow at once). */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the broker at ${redactMqttUrl(this.o.mqttUrl)} did not accept the monitor within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.#firstSubscribed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** QoS 1, resolves on PUBACK. Refused while offline: a command must not wait in a queue past its expiry. */
  async publish(topic: string, payload: string): Promise<void> {
    const client = this.#client;
    if (!client?.connected) throw new Error('the monitor is not connected to the broker');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (client) await client.endAsync();
    this.o.state.setBroker('offline');
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.rest.length > 0 || !CABINET_ID.test(parsed.cabinetId)) return;
    const { cabinetId, kind } = parsed;
    const { state } = this.o;
    switch (kind) {
      case 'status': {
        // An empty retained message clears the topic: the cabinet was taken out of the fleet.
        if (payload.length === 0) {
          state.forget(cabinetId);
          return;
        }
        const status = parsePayload(statusSchema, payload);
        if (status.ok) state.applyStatus(cabinetId, status.value);
        else this.#malformed(cabinetId, 'status', status.error);
        return;
      }
      case 'events': {
        const event = parsePayload(eventSchema, payload);
        if (event.ok) state.applyEvent(cabinetId, event.value);
        else this.#malformed(cabinetId, 'event', event.error);
        return;
      }
      case 'reply': {
        // Replies to other ops' commands pass by too; the state keeps only answers to the monitor's replays.
        const reply = parsePayload(replySchema, payload);
        if (reply.ok) state.replyReceived(cabinetId, reply.value);
        return;
      }
    }
  }

  #malformed(cabinetId: string, what: string, error: string): void {
    this.o.logger.debug({ cabinetId, what, error }, 'fleet monitor: unreadable payload');
    this.o.state.noteMalformed(cabinetId, `${what}: ${error}`);
  }
}
