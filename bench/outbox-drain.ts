import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { mqttSchema } from '../controller/config/schema.ts';
import { EventBus } from '../controller/events/bus.ts';
import { MqttLink } from '../controller/mqtt/mqtt-link.ts';
import { OutboxDrainer } from '../controller/mqtt/outbox-drainer.ts';
import { Topics } from '../controller/mqtt/topics.ts';
import { openDatabase } from '../controller/store/database.ts';
import { CabinetStore, systemClock } from '../controller/store/store.ts';
import { startMosquitto } from '../test/support/mosquitto.ts';

/**
 * A day's worth of events (86,400) queued while the broker was unreachable, then drained to a real Mosquitto:
 * events per second from connect until every row is acknowledged and marked, and how many an observer got.
 */
export async function measureOutboxDrain(count = 86_400): Promise<{ eventsPerSecond: number; received: number; missing: number; duplicates: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-drain-'));
  const broker = await startMosquitto({ extraConfig: ['max_queued_messages 0', 'max_inflight_messages 0'] });
  const logger = pino({ level: 'silent' });
  const bus = new EventBus(() => {});
  const store = new CabinetStore(openDatabase(join(dir, 'govlocker.db')), 'bench-boot', bus, systemClock);
  for (let done = 0; done < count; done += 5000) {
    store.change((ctx) => {
      for (let i = done; i < Math.min(count, done + 5000); i++) ctx.event('bench.event', { n: i });
    });
  }
  const topics = new Topics('BENCH-01');
  const seen = new Set<number>();
  let duplicates = 0;
  const observer = await mqtt.connectAsync(broker.url, { clientId: 'bench-observer', clean: true });
  (observer.stream as import('node:net').Socket).setNoDelay(true);
  observer.on('message', (_topic, payload) => {
    const seq = JSON.parse(payload.toString()).seq as number;
    if (seen.has(seq)) duplicates++;
    else seen.add(seq);
  });
  await observer.subscribeAsync(topics.events, { qos: 1 });
  const link = new MqttLink({ config: mqttSchema.parse({ url: broker.url }), clientId: 'govlocker-BENCH-01', will: { topic: topics.status, payload: '{"online":false}' }, subscriptions: [], logger });
  const drainer = new OutboxDrainer(store.db, link, topics, { window: 1000, keepSentDays: 8, maxUnsent: 10_000_000, logger, onOverflow: () => {} });
  drainer.start();
  const connected = new Promise<number>((resolve) => link.onConnected(() => resolve(performance.now())));
  link.start();
  const t0 = await connected;
  while (store.outbox.depth() > 0) {
    await new Promise((r) => setTimeout(r, 20));
    drainer.flush();
  }
  const seconds = (performance.now() - t0) / 1000;
  const deadline = Date.now() + 10_000;
  while (seen.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  drainer.stop();
  await link.stop();
  await observer.endAsync();
  store.close();
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
  return { eventsPerSecond: count / seconds, received: seen.size, missing: count - seen.size, duplicates };
}
