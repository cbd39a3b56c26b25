import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mqttSchema } from '../../controller/config/schema.ts';
import { EventBus } from '../../controller/events/bus.ts';
import { MqttLink } from '../../controller/mqtt/mqtt-link.ts';
import { OutboxDrainer } from '../../controller/mqtt/outbox-drainer.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import { openDatabase } from '../../controller/store/database.ts';
import { CabinetStore } from '../../controller/store/store.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function outbox(now: () => number) {
  dir = mkdtempSync(join(tmpdir(), 'govlocker-outbox-'));
  const store = new CabinetStore(openDatabase(join(dir, 'govlocker.db')), 'boot-1', new EventBus(() => {}), { now });
  const topics = new Topics('BOUND-01');
  // Never started: no broker is needed to prune.
  const link = new MqttLink({ config: mqttSchema.parse({ url: 'mqtt://127.0.0.1:1' }), clientId: 'x', will: { topic: topics.status, payload: '{}' }, subscriptions: [], logger: pino({ level: 'silent' }) });
  const drainer = new OutboxDrainer(store.db, link, topics, {
    window: 100, keepSentDays: 7, maxUnsent: 1000, logger: pino({ level: 'silent' }), now,
    onOverflow: (dropped) => store.change((ctx) => ctx.event('outbox.overflow', { droppedFrom: dropped.from, droppedTo: dropped.to })),
  });
  return { store, drainer };
}

describe('the event outbox is bounded', () => {
  it('past its bound it drops the oldest unsent events and says exactly which, so the gap is explained', () => {
    const { store, drainer } = outbox(() => Date.now());
    store.change((ctx) => { for (let i = 0; i < 1500; i++) ctx.event('test.bulk', { i }); });
    drainer.prune();
    const left = store.outbox.after(0, 5000);
    const overflow = left.find((e) => e.type === 'outbox.overflow')!;
    expect(overflow.data).toEqual({ droppedFrom: 1, droppedTo: 500 });
    expect(left[0]!.seq).toBe(501);
    expect(overflow.seq).toBe(1501); // seq still rises by one: nothing is reused
    expect(store.outbox.depth()).toBe(1001);
    store.close();
  });

  it('keeps sent events for the replay window and drops them after it', () => {
    let now = Date.UTC(2026, 10, 1);
    const { store, drainer } = outbox(() => now);
    store.change((ctx) => { for (let i = 0; i < 10; i++) ctx.event('test.old', { i }); });
    store.db.prepare('UPDATE events SET sent_at = ?').run(now);
    now += 6 * 86_400_000;
    store.change((ctx) => ctx.event('test.new', {}));
    drainer.prune();
    expect(store.outbox.after(0, 100)).toHaveLength(11);
    now += 2 * 86_400_000;
    drainer.prune();
    expect(store.outbox.after(0, 100).map((e) => e.type)).toEqual(['test.new']);
    store.close();
  });
});
