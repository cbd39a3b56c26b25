import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../controller/cabinet.ts';
import { COMMAND_KEY_FILE } from '../../controller/mqtt/central-ops.ts';
import { newCommand, readCommandKey } from '../../controller/mqtt/command-auth.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_PHONE, loadItem, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { killAllChildren, runGovlocker, startCabinet } from '../support/govlocker-process.ts';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// Central ops as they see the cabinet: a real Mosquitto started here, the cabinet (harness or `govlocker start`)
// reporting to it, and an observer client subscribed to `govlocker/v1/#` that records everything it hears.
// Each test uses its own cabinet id, so retained statuses and event streams never mix.

let broker: Mosquitto;
let observer: Observer;
const harnesses: Harness[] = [];
const dirs: string[] = [];

interface Heard {
  readonly topic: string;
  readonly text: string;
  readonly json: any;
  readonly retain: boolean;
  readonly at: number;
}

/** An ops-side client that records every message it hears (and publishes commands like ops would). */
class Observer {
  readonly heard: Heard[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json: unknown = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      this.heard.push({ topic, text, json, retain: packet.retain, at: Date.now() });
    });
  }

  /**
   * A persistent session (clean: false), so what is published while it reconnects after a broker restart is
   * queued for it rather than lost; `filter` with QoS 1.
   */
  static async connect(url: string, clientId: string, filter = 'govlocker/v1/#', clean = false): Promise<Observer> {
    const client = mqtt.connect(url, { clientId, clean, protocolVersion: 5, properties: clean ? undefined : { sessionExpiryInterval: 3600 }, reconnectPeriod: 50, connectTimeout: 3000 });
    client.on('connect', () => (client.stream as Socket).setNoDelay?.(true));
    client.on('error', () => { /* reconnects; the tests' waits say what went missing */ });
    const observer = new Observer(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return observer;
  }

  async waitFor(test: (m: Heard) => unknown, what: string, options: { after?: number; ms?: number } = {}): Promise<Heard> {
    return until(() => this.heard.slice(options.after ?? 0).find((m) => test(m)), options.ms ?? 5000, what);
  }

  on(topic: string): Heard[] {
    return this.heard.filter((m) => m.topic === topic);
  }

  /** The `…/events` payloads of one cabinet, in arrival order. */
  events(cabinetId: string): { seq: number; bootId: string; id: string; ts: string; type: string; data: any }[] {
    return this.on(new Topics(cabinetId).events).map((m) => m.json);
  }

  end(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** What a newly connected subscriber gets on a topic right away: the retained message. */
async function retainedOn(topic: string): Promise<Heard> {
  const fresh = await Observer.connect(broker.url, `late-${randomBytes(4).toString('hex')}`, topic, true);
  try {
    return await fresh.waitFor((m) => m.topic === topic, `the retained ${topic}`, { ms: 2000 });
  } finally {
    await fresh.end();
  }
}

async function cabinet(cabinetId: string, config: Record<string, unknown> = {}): Promise<Harness> {
  const h = await startHarness({ mqttUrl: broker.url, config: { cabinetId, ...config } });
  harnesses.push(h);
  return h;
}

const health = async (h: Harness) => (await h.call('GET', '/api/v1/health', undefined, null)).json as { status: string; mqtt: string; outbox: number };

/** Every seq 1..last arrived; returns how many arrived more than once. First arrivals must come in seq order. */
function expectCompleteInOrder(seqs: number[], last: number): number {
  const firstArrivals: number[] = [];
  const seen = new Set<number>();
  for (const s of seqs) if (!seen.has(s)) { seen.add(s); firstArrivals.push(s); }
  const missing: number[] = [];
  for (let s = 1; s <= last; s++) if (!seen.has(s)) missing.push(s);
  expect(missing.slice(0, 20), `${missing.length} seq(s) never arrived`).toEqual([]);
  const outOfOrder = firstArrivals.findIndex((s, i) => i > 0 && s < firstArrivals[i - 1]!);
  expect(outOfOrder, `seq ${firstArrivals[outOfOrder]} arrived after ${firstArrivals[outOfOrder - 1]}`).toBe(-1);
  return seqs.length - seen.size;
}

const lastSeq = (h: Harness) => (h.controller.cabinet.store.db.prepare('SELECT max(seq) AS n FROM events').get() as { n: number }).n;

/** Waits until the broker acknowledged every event (health says so) and the observer heard up to the last seq. */
async function drained(h: Harness, cabinetId: string, ms = 5000): Promise<number> {
  await until(async () => (await health(h)).outbox === 0, ms, 'outbox depth 0 in /health');
  const last = lastSeq(h);
  await until(() => observer.events(cabinetId).some((e) => e.seq === last), ms, `event seq ${last} heard`);
  return last;
}

const duplicates: Record<string, number> = {};

beforeAll(async () => {
  // Consumers that fall behind (the observer while it reconnects, or during a 10,000-event burst) must not
  // lose events at the broker: Mosquitto's default queue per client is 1000 messages.
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 200000'] });
  observer = await Observer.connect(broker.url, 'ops-observer');
});

afterEach(async () => {
  broker.thaw();
  if (!broker.running) await broker.restart();
  for (const h of harnesses.splice(0)) await h.stop();
});

afterAll(async () => {
  killAllChildren();
  await observer?.end();
  await broker?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  if (Object.keys(duplicates).length) process.stdout.write(`MQTT duplicates seen: ${JSON.stringify(duplicates)}\n`);
});

describe('status: ops see whether the cabinet is online', () => {
  it('publishes a retained online status at start and a retained offline one at a clean stop', async () => {
    const h = await cabinet('MQ-STATUS');
    const topic = new Topics('MQ-STATUS').status;
    const bootId = h.controller.cabinet.bootId;
    const online = await observer.waitFor((m) => m.topic === topic && m.json?.online === true, 'online status');
    expect(online.json).toEqual({
      online: true, bootId, ts: expect.any(String), version: VERSION,
      compartments: { total: 24, empty: 24, loaded: 0, fault: 0, disabled: 0 }, hardware: 'ok', storage: 'ok', outbox: expect.any(Number),
    });
    expect(Date.parse(online.json.ts)).toBeGreaterThan(Date.now() - 10_000);
    // Someone who subscribes later gets it at once: it is retained.
    const late = await retainedOn(topic);
    expect(late.retain).toBe(true);
    expect(late.json).toMatchObject({ online: true, bootId });

    const mark = observer.heard.length;
    await h.stopController();
    const offline = await observer.waitFor((m) => m.topic === topic && m.json?.online === false, 'offline status at a clean stop', { after: mark });
    expect(offline.json).toEqual({ online: false, bootId });
    expect((await retainedOn(topic)).json).toEqual({ online: false, bootId });

    const next = await h.restartController();
    expect(next.cabinet.bootId).not.toBe(bootId);
    await observer.waitFor((m) => m.topic === topic && m.json?.online === true && m.json.bootId === next.cabinet.bootId, 'online again with the new bootId');
  });

  it('when the controller process is killed, the broker publishes its last will: offline, with its bootId', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-mqtt-kill-'));
    dirs.push(dataDir);
    const env = { MQTT_URL: broker.url, GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_CABINET_ID: 'MQ-KILL' };
    const topic = new Topics('MQ-KILL').status;
    const first = await startCabinet(env);
    const online = await observer.waitFor((m) => m.topic === topic && m.json?.online === true, 'online status of the child');
    const bootId = online.json.bootId as string;

    const mark = observer.heard.length;
    process.kill(-first.child.pid!, 'SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const will = await observer.waitFor((m) => m.topic === topic, 'the last will', { after: mark });
    expect(will.json).toEqual({ online: false, bootId });
    expect((await retainedOn(topic)).json).toEqual({ online: false, bootId });

    // Started again on the same data: online, a new boot.
    const second = await startCabinet(env);
    const back = await observer.waitFor((m) => m.topic === topic && m.json?.online === true, 'online after the restart', { after: mark });
    expect(back.json.bootId).not.toBe(bootId);
    const stopped = await second.interrupt();
    expect(stopped.code).toBe(0);
    expect((await retainedOn(topic)).json).toEqual({ online: false, bootId: back.json.bootId });
  });
});

/** An applicant picks up a ready case at the kiosk: code + ID suffix, door opens, items out, door closed. */
async function pickUp(h: Harness, caseNo: string, code: string, compartment: string): Promise<void> {
  const r = await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
  expect(r.json).toMatchObject({ result: 'opened' });
  await until(() => simDoor(h, compartment).open, 3000, 'pickup door open');
  h.sim.model.close(compartment, { occupied: false });
  await until(async () => (await h.call('GET', `/api/v1/cases/${caseNo}`)).json.state === 'collected', 3000, `${caseNo} collected`);
}

describe('events: ops hear every change once the broker has it, in order, with no gap', () => {
  it('a load and a pickup arrive as events with seq rising by one, continuing across a controller restart', async () => {
    const h = await cabinet('MQ-EVENTS');
    const one = await readyCase(h, 'EV-1', [{ type: 'seal', barcode: 'EV-SEAL-1' }]);
    await pickUp(h, 'EV-1', one.code, one.compartments[0]!);
    const beforeRestart = await drained(h, 'MQ-EVENTS');
    expect(await health(h)).toMatchObject({ mqtt: 'connected', outbox: 0 });
    const boot1 = h.controller.cabinet.bootId;

    await h.restartController();
    const boot2 = h.controller.cabinet.bootId;
    const two = await readyCase(h, 'EV-2', [{ type: 'invoice', barcode: 'EV-INV-2' }]);
    await pickUp(h, 'EV-2', two.code, two.compartments[0]!);
    const last = await drained(h, 'MQ-EVENTS');

    const events = observer.events('MQ-EVENTS');
    duplicates.events = expectCompleteInOrder(events.map((e) => e.seq), last);
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(['bootId', 'data', 'id', 'seq', 'ts', 'type']);
      expect(e.bootId).toBe(e.seq <= beforeRestart ? boot1 : boot2);
    }
    const types = events.map((e) => e.type);
    for (const t of ['case.created', 'item.loaded', 'case.ready', 'door.opened', 'door.closed', 'pickup.completed', 'cabinet.started']) expect(types).toContain(t);
    expect(events.filter((e) => e.type === 'pickup.completed').map((e) => e.data.caseNo)).toEqual(['EV-1', 'EV-2']);
    // The restart's own events come right after the last one of the first boot.
    expect(events.find((e) => e.bootId === boot2)!.seq).toBe(beforeRestart + 1);
  });

  it('with the broker down the cabinet keeps working; once it is back every event arrives, in order', async () => {
    const h = await cabinet('MQ-OUTAGE');
    const topic = new Topics('MQ-OUTAGE').status;
    await drained(h, 'MQ-OUTAGE');
    const bootId = h.controller.cabinet.bootId;

    await broker.halt();
    await until(async () => (await health(h)).mqtt === 'offline', 3000, 'health says mqtt offline');
    const depth0 = (await health(h)).outbox;
    const one = await readyCase(h, 'OUT-1', [{ type: 'seal', barcode: 'OUT-SEAL-1' }, { type: 'tax-device', barcode: 'OUT-TAX-1' }]);
    await pickUp(h, 'OUT-1', one.code, one.compartments[0]!);
    await h.call('POST', '/api/v1/cases', caseBody('OUT-2', [{ type: 'invoice', barcode: 'OUT-INV-2' }]));
    await loadItem(h, 'OUT-INV-2');
    const offline = await health(h);
    expect(offline).toMatchObject({ status: 'degraded', mqtt: 'offline' });
    expect(offline.outbox).toBeGreaterThan(depth0 + 10);

    const restartedAt = Date.now();
    await broker.restart();
    const last = await drained(h, 'MQ-OUTAGE', 10_000);
    // The credential issued during the outage reaches the SMS gateway too (the latest one last).
    const notified = await observer.waitFor((m) => m.topic === new Topics('MQ-OUTAGE').notify && m.json?.code === one.code, 'the notify of the outage');
    expect(notified.json).toMatchObject({ caseNo: 'OUT-1', phone: FULL_PHONE });
    expect(observer.on(new Topics('MQ-OUTAGE').notify).filter((m) => m.json.caseNo === 'OUT-1').at(-1)!.json.code).toBe(one.code);
    // The notify outbox is drained apart from the events: OUT-2's may arrive a moment after the last event.
    await observer.waitFor((m) => m.topic === new Topics('MQ-OUTAGE').notify && m.json?.caseNo === 'OUT-2', 'the notify of OUT-2');
    duplicates.outage = expectCompleteInOrder(observer.events('MQ-OUTAGE').map((e) => e.seq), last);
    // Reconnected, the cabinet says it is online again (same boot): the status is republished on every connect.
    await observer.waitFor((m) => m.topic === topic && m.json?.online === true && m.json.bootId === bootId && Date.parse(m.json.ts) >= restartedAt - 1000, 'online status after the broker restart');
    expect((await retainedOn(topic)).json).toMatchObject({ online: true, bootId, outbox: expect.any(Number) });
  });

  it('10,000 events queued while the broker is down all arrive once it is back', async () => {
    const h = await cabinet('MQ-BULK');
    await drained(h, 'MQ-BULK');
    await broker.halt();
    await until(async () => (await health(h)).mqtt === 'offline', 3000, 'health says mqtt offline');
    const store = h.controller.cabinet.store;
    for (let batch = 0; batch < 10; batch++) {
      store.change((ctx) => {
        for (let i = 0; i < 1000; i++) ctx.event('test.bulk', { n: batch * 1000 + i });
      });
    }
    expect((await health(h)).outbox).toBeGreaterThanOrEqual(10_000);

    const t0 = Date.now();
    await broker.restart();
    const last = await drained(h, 'MQ-BULK', 15_000);
    const ms = Date.now() - t0;
    const events = observer.events('MQ-BULK');
    duplicates.bulk = expectCompleteInOrder(events.map((e) => e.seq), last);
    const bulk = new Set(events.filter((e) => e.type === 'test.bulk').map((e) => e.data.n as number));
    expect(bulk.size).toBe(10_000);
    process.stdout.write(`10,000 queued events: broker restart → all heard in ${ms} ms\n`);
  });

  it('a broker that goes down again in the middle of draining loses nothing: unacknowledged events are sent again', async () => {
    const h = await cabinet('MQ-MIDDRAIN');
    await drained(h, 'MQ-MIDDRAIN');
    await broker.halt();
    await until(async () => (await health(h)).mqtt === 'offline', 3000, 'health says mqtt offline');
    const store = h.controller.cabinet.store;
    for (let batch = 0; batch < 10; batch++) {
      store.change((ctx) => {
        for (let i = 0; i < 1000; i++) ctx.event('test.bulk', { n: batch * 1000 + i });
      });
    }
    const queued = store.outbox.depth();
    await broker.restart();
    // Down again as soon as the first acknowledgements are recorded, with most of the outbox still in flight.
    await until(() => store.outbox.depth() < queued, 5000, 'first acknowledgements');
    await broker.halt();
    const leftAtHalt = store.outbox.depth();
    expect(leftAtHalt).toBeGreaterThan(0);
    await until(async () => (await health(h)).mqtt === 'offline', 3000, 'offline again');
    await broker.restart();
    const last = await drained(h, 'MQ-MIDDRAIN', 15_000);
    duplicates.midDrain = expectCompleteInOrder(observer.events('MQ-MIDDRAIN').map((e) => e.seq), last);
    process.stdout.write(`mid-drain broker restart: ${leftAtHalt} of ${queued} events unacknowledged at the halt\n`);
  });
});

describe('notify: the SMS gateway gets the credential', () => {
  it('a broker that hangs and dies with a credential and events in flight: all are delivered once it is back', async () => {
    const h = await cabinet('MQ-HANG');
    const topics = new Topics('MQ-HANG');
    await drained(h, 'MQ-HANG');
    for (const caseNo of ['HANG-1', 'HANG-2']) expect((await h.call('POST', '/api/v1/cases', caseBody(caseNo, [{ type: 'invoice', barcode: `${caseNo}-INV` }]))).status).toBe(201);
    await broker.save(); // the observer's session survives the crash below
    broker.freeze();
    await loadItem(h, 'HANG-1-INV'); // ready: its credential and events go out and are never acknowledged
    await new Promise((r) => setTimeout(r, 100));
    await broker.crash();
    await until(async () => (await health(h)).mqtt === 'offline', 3000, 'health says mqtt offline');
    await broker.restart();
    await drained(h, 'MQ-HANG', 5000);
    await loadItem(h, 'HANG-2-INV');
    await drained(h, 'MQ-HANG', 5000);
    const last = lastSeq(h);
    duplicates.hang = expectCompleteInOrder(observer.events('MQ-HANG').map((e) => e.seq), last);
    await observer.waitFor((m) => m.topic === topics.notify && m.json?.caseNo === 'HANG-1', 'the credential that was in flight');
    await observer.waitFor((m) => m.topic === topics.notify && m.json?.caseNo === 'HANG-2', 'the next credential');
  });

  it('a case that becomes ready sends kind "credential", caseNo, full phone, code, QR and expiry to …/notify, and that code opens it', async () => {
    const h = await cabinet('MQ-NOTIFY');
    const topics = new Topics('MQ-NOTIFY');
    expect((await h.call('POST', '/api/v1/cases', caseBody('NT-1', [{ type: 'seal', barcode: 'NT-SEAL' }]))).status).toBe(201);
    const compartment = await loadItem(h, 'NT-SEAL');
    const notify = await observer.waitFor((m) => m.topic === topics.notify && m.json?.caseNo === 'NT-1', 'the notify message');
    expect(notify.json).toEqual({ kind: 'credential', caseNo: 'NT-1', phone: FULL_PHONE, code: expect.stringMatching(/^\d{8}$/), qr: expect.any(String), expiresAt: expect.any(String) });
    expect(Date.parse(notify.json.expiresAt)).toBeGreaterThan(Date.now());

    const r = await h.call('POST', '/api/v1/kiosk/pickup', { code: notify.json.code, idSuffix: ID_SUFFIX }, null);
    expect(r.json).toMatchObject({ result: 'opened', compartments: [compartment] });
    await until(() => simDoor(h, compartment).open, 3000, 'door open for the notified code');
    await drained(h, 'MQ-NOTIFY');
    // The full phone number appears only on …/notify.
    const elsewhere = observer.heard.filter((m) => m.topic.startsWith(topics.base) && m.topic !== topics.notify && m.text.includes(FULL_PHONE));
    expect(elsewhere.map((m) => m.topic)).toEqual([]);
  });
});

describe('commands from central ops', () => {
  const CAB = 'MQ-CMD';
  const topics = new Topics(CAB);
  let h: Harness;
  let key: Buffer;

  beforeAll(async () => {
    h = await startHarness({ mqttUrl: broker.url, config: { cabinetId: CAB } });
    key = readCommandKey(join(h.dataDir, COMMAND_KEY_FILE));
    await until(async () => (await health(h)).mqtt === 'connected', 5000, 'cabinet connected');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const pulses = () => Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
  /**
   * The events a command caused: its own cmd.* event and what it did as `ops:mqtt:{requestId}`. Refusals of
   * unverified commands are summed up (the first of a quiet spell at once, as the sample): see
   * mqtt-command-abuse.test.ts.
   */
  const eventsOf = (requestId: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.data.requestId === requestId || e.data.by === `ops:mqtt:${requestId}` || (e.data.sample as { requestId?: string } | undefined)?.requestId === requestId);
  /** What a command did, besides being refused. */
  const effectsOf = (requestId: string) => eventsOf(requestId).filter((e) => e.type !== 'cmd.refused');
  const sign = (name: string, args: Record<string, unknown>, now = h.clock.now(), lifetimeMs = 60_000) => newCommand(key, name, args, now, lifetimeMs);

  /** Publishes a command as ops would and returns the cabinet's reply to it. */
  async function send(name: string, command: object | string, topic = topics.command(name)): Promise<any> {
    const text = typeof command === 'string' ? command : JSON.stringify(command);
    const requestId = JSON.parse(text).requestId as string;
    const mark = observer.heard.length;
    await observer.client.publishAsync(topic, text, { qos: 1 });
    return (await observer.waitFor((m) => m.topic === topics.reply && m.json?.requestId === requestId, `reply to ${name} ${requestId}`, { after: mark })).json;
  }

  /** A valid command's reply: every command published before it has been handled by then. */
  const fence = async () => expect((await send('status', sign('status', {}))).ok).toBe(true);

  it('a valid open opens the door once; the same command again gets the same reply and no second pulse', async () => {
    const open = sign('open', { compartment: 'A01', reason: 'stuck applicant at the kiosk' });
    const reply = await send('open', open);
    expect(reply).toMatchObject({ requestId: open.requestId, ok: true, result: { compartment: 'A01' } });
    await until(() => simDoor(h, 'A01').open, 3000, 'A01 open');
    expect(simDoor(h, 'A01').latchPulses).toBe(1);
    h.sim.model.close('A01', { occupied: false });

    const again = await send('open', open);
    expect(again).toEqual(reply);
    await new Promise((r) => setTimeout(r, 150));
    expect(simDoor(h, 'A01').latchPulses).toBe(1);
    expect(eventsOf(open.requestId).map((e) => e.type)).toEqual(['compartment.remote_open', 'cmd.executed']);
  });

  it('refuses an expired command, correctly signed, and changes nothing', async () => {
    const before = pulses();
    const stale = sign('open', { compartment: 'A02', reason: 'stuck applicant' }, h.clock.now() - 120_000);
    expect(await send('open', stale)).toEqual({ requestId: stale.requestId, ok: false, error: 'expired' });
    await new Promise((r) => setTimeout(r, 100));
    expect(pulses()).toBe(before);
    expect(effectsOf(stale.requestId)).toEqual([]);
  });

  it('refuses a command with one byte of its args changed after signing', async () => {
    const before = pulses();
    const good = sign('open', { compartment: 'A02', reason: 'stuck applicant' });
    const text = JSON.stringify(good);
    const tampered = text.replace('"A02"', '"A03"');
    expect(tampered.length).toBe(text.length);
    expect([...tampered].filter((c, i) => c !== text[i])).toHaveLength(1);
    expect(await send('open', tampered)).toEqual({ requestId: good.requestId, ok: false, error: 'bad signature' });
    await new Promise((r) => setTimeout(r, 100));
    expect(pulses()).toBe(before);
    expect(effectsOf(good.requestId)).toEqual([]);
  });

  it("ignores a command signed with another cabinet's key, and one sent to another cabinet's topic", async () => {
    const before = pulses();
    const foreign = newCommand(randomBytes(32), 'open', { compartment: 'A02', reason: 'stuck applicant' }, h.clock.now());
    expect(await send('open', foreign)).toEqual({ requestId: foreign.requestId, ok: false, error: 'bad signature' });

    const elsewhere = sign('open', { compartment: 'A02', reason: 'stuck applicant' });
    const mark = observer.heard.length;
    await observer.client.publishAsync(new Topics('MQ-OTHER').command('open'), JSON.stringify(elsewhere), { qos: 1 });
    await fence();
    await new Promise((r) => setTimeout(r, 100));
    expect(observer.heard.slice(mark).filter((m) => m.json?.requestId === elsewhere.requestId && m.topic.endsWith('/reply'))).toEqual([]);
    expect(eventsOf(elsewhere.requestId)).toEqual([]);
    expect(pulses()).toBe(before);
  });

  it('disable and enable take a compartment out of service and back, as GET /compartments shows', async () => {
    const state = async () => (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'B03').state;
    expect(await state()).toBe('empty');
    expect(await send('disable', sign('disable', { compartment: 'B03', reason: 'broken hinge' }))).toMatchObject({ ok: true, result: { id: 'B03', state: 'disabled' } });
    expect(await state()).toBe('disabled');
    expect(await send('enable', sign('enable', { compartment: 'B03' }))).toMatchObject({ ok: true, result: { id: 'B03', state: 'empty' } });
    expect(await state()).toBe('empty');
  });

  it('status publishes the status now', async () => {
    const mark = observer.heard.length;
    const cmd = sign('status', {});
    expect(await send('status', cmd)).toEqual({ requestId: cmd.requestId, ok: true, result: { published: true } });
    const status = await observer.waitFor((m) => m.topic === topics.status, 'a status after the command', { after: mark });
    expect(status.json).toMatchObject({ online: true, bootId: h.controller.cabinet.bootId, compartments: { total: 24 } });
  });

  it('replay sends the kept events again from the seq asked for', async () => {
    await until(async () => (await health(h)).outbox === 0, 3000, 'outbox drained');
    const fromSeq = Math.max(1, lastSeq(h) - 5);
    const mark = observer.heard.length;
    const cmd = sign('replay', { fromSeq });
    const reply = await send('replay', cmd);
    expect(reply).toMatchObject({ ok: true, result: { fromSeq, firstKept: fromSeq, lastSeq: expect.any(Number) } });
    const wanted = Array.from({ length: reply.result.lastSeq - fromSeq + 1 }, (_, i) => fromSeq + i);
    await until(() => {
      const heard = new Set(observer.heard.slice(mark).filter((m) => m.topic === topics.events).map((m) => m.json.seq as number));
      return wanted.every((s) => heard.has(s));
    }, 3000, `events ${fromSeq}..${reply.result.lastSeq} sent again`);
  });

  it('refuses an unknown command (there is no "open all")', async () => {
    const before = pulses();
    const cmd = sign('openall', {});
    const reply = await send('openall', cmd);
    expect(reply).toMatchObject({ requestId: cmd.requestId, ok: false, error: expect.stringContaining('no command "openall"') });
    expect(pulses()).toBe(before);
  });

  it('govlocker cmd status signs with the key file, sends, and prints the reply', async () => {
    const r = await runGovlocker(['cmd', 'status', '--mqtt', broker.url, '--cabinet', CAB, '--key', join(h.dataDir, COMMAND_KEY_FILE)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, requestId: expect.any(String), result: { published: true } });
  });

  it('a command sent while the cabinet is offline is carried out once it is back (persistent session)', async () => {
    await h.stopController();
    const cmd = sign('disable', { compartment: 'C01', reason: 'sent while the cabinet was offline' });
    const mark = observer.heard.length;
    await observer.client.publishAsync(topics.command('disable'), JSON.stringify(cmd), { qos: 1 });
    await h.restartController();
    const reply = await observer.waitFor((m) => m.topic === topics.reply && m.json?.requestId === cmd.requestId, 'the reply after the restart', { after: mark });
    expect(reply.json).toMatchObject({ ok: true, result: { id: 'C01', state: 'disabled' } });
    expect((await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'C01').state).toBe('disabled');
    expect(await send('enable', sign('enable', { compartment: 'C01' }))).toMatchObject({ ok: true });
  });

  it('refuses remote opens over the per-minute cap and raises an alarm', async () => {
    h.clock.advance(61_000); // the opens of the tests before are out of the minute
    const cap = h.controller.cabinet.config.policy.remoteOpensPerMinute;
    expect(cap).toBe(3);
    for (const id of ['A02', 'A03', 'A04']) {
      expect(await send('open', sign('open', { compartment: id, reason: 'ops check' }))).toMatchObject({ ok: true });
      await until(() => simDoor(h, id).open, 3000, `${id} open`);
      h.sim.model.close(id, { occupied: false });
    }
    const fourth = sign('open', { compartment: 'A05', reason: 'ops check' });
    const reply = await send('open', fourth);
    expect(reply).toMatchObject({ requestId: fourth.requestId, ok: false, error: expect.stringMatching(/limit/) });
    await new Promise((r) => setTimeout(r, 150));
    expect(simDoor(h, 'A05').latchPulses).toBe(0);
    const events = h.controller.cabinet.store.outbox.after(0, 100_000);
    expect(events.filter((e) => e.type === 'alarm.raised').map((e) => e.data)).toEqual([expect.objectContaining({ kind: 'remote-open-cap', compartment: 'A05', cap: 3 })]);
    expect(eventsOf(fourth.requestId).map((e) => [e.type, e.data.error, e.data.alarm])).toEqual([['alarm.raised', undefined, undefined], ['cmd.refused', 'remote-open-cap', true]]);
    // Ops hear the alarm too.
    await observer.waitFor((m) => m.topic === topics.events && m.json?.type === 'alarm.raised', 'alarm.raised on …/events');
  });

  it('ack acknowledges an alarm from central ops (audited under the request), once; a wrong id is refused by name', async () => {
    h.sim.model.force('C08');
    const forced = await until(() => h.controller.cabinet.store.outbox.after(0, 100_000).find((e) => e.type === 'door.forced' && e.data.compartment === 'C08'), 3000, 'door.forced C08');
    const alarmId = forced.data.alarmId as number;
    const ack = sign('ack', { alarmId, note: 'camera shows a cleaner' });
    expect(await send('ack', ack)).toMatchObject({ requestId: ack.requestId, ok: true, result: { id: alarmId, kind: 'door-forced', compartment: 'C08', acknowledgedBy: `ops:mqtt:${ack.requestId}` } });
    expect(((await h.call('GET', '/api/v1/alarms')).json as { id: number }[]).map((a) => a.id)).not.toContain(alarmId);
    expect(eventsOf(ack.requestId).map((e) => e.type)).toEqual(['alarm.acknowledged', 'cmd.executed']);
    expect(h.controller.cabinet.store.audit.after(0, 100_000).some((a) => a.action === 'alarm.acknowledged' && a.actor === `ops:mqtt:${ack.requestId}`)).toBe(true);

    const twice = sign('ack', { alarmId });
    expect(await send('ack', twice)).toMatchObject({ ok: false, error: expect.stringMatching(/already acknowledged/) });
    const unknown = sign('ack', { alarmId: 999_999 });
    expect(await send('ack', unknown)).toMatchObject({ ok: false, error: expect.stringMatching(/no alarm 999999/) });
    const bad = sign('ack', { alarmId: 'all' });
    expect(await send('ack', bad)).toMatchObject({ ok: false, error: expect.stringMatching(/^args\.alarmId: /) });
    h.sim.model.close('C08');
  });

  it('a database that cannot be written shows in the retained status at once, and its alarm follows when it writes again', async () => {
    const { db } = h.controller.cabinet.store;
    const mark = observer.heard.length;
    db.pragma('query_only = 1'); // as a card remounted read-only after an I/O error
    expect((await h.call('POST', '/api/v1/compartments/B04/disable', { reason: 'hinge' })).status).toBe(503);
    await observer.waitFor((m) => m.topic === topics.status && m.json?.storage === 'failing', 'status: storage failing', { after: mark });
    db.pragma('query_only = 0');
    await observer.waitFor((m) => m.topic === topics.status && m.json?.storage === 'ok', 'status: storage ok', { after: mark });
    const raised = await observer.waitFor((m) => m.topic === topics.events && m.json?.type === 'storage.failed', 'storage.failed on …/events', { after: mark });
    expect(raised.json.data).toMatchObject({ code: 'SQLITE_READONLY', refusedChanges: expect.any(Number), alarmId: expect.any(Number) });
  });
});
