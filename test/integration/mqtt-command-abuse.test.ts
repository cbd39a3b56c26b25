import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../controller/domain/canonical-json.ts';
import { COMMAND_KEY_FILE } from '../../controller/mqtt/central-ops.ts';
import { newCommand, readCommandKey, signCommand } from '../../controller/mqtt/command-auth.ts';
import { REFUSAL_INTERVAL_MS, REFUSAL_REPLIES_PER_INTERVAL } from '../../controller/events/refusal-summaries.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { simDoor } from '../support/cabinet-steps.ts';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// Someone who can publish on a cabinet's `…/cmd/+` but holds no key (or holds a genuine command meant for
// another topic): a real Mosquitto, the cabinet on a real SQLite file and the simulator's doors, and an
// anonymous client that publishes what it likes and records every reply and event it hears.

let broker: Mosquitto;
let ops: Ops;
const harnesses: Harness[] = [];

interface Heard {
  readonly topic: string;
  readonly text: string;
  readonly json: any;
}

class Ops {
  readonly heard: Heard[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const text = payload.toString('utf8');
      let json: unknown = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      this.heard.push({ topic, text, json });
    });
  }

  replies(cabinetId: string, after = 0): Heard[] {
    return this.heard.slice(after).filter((m) => m.topic === new Topics(cabinetId).reply);
  }

  async replyTo(cabinetId: string, requestId: string, after = 0): Promise<any> {
    return (await until(() => this.replies(cabinetId, after).find((m) => m.json?.requestId === requestId), 5000, `the reply to ${requestId}`)).json;
  }
}

beforeAll(async () => {
  // The flood must reach the cabinet whole (Mosquitto queues 1,000 messages per client by default).
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 100000'] });
  const client = await mqtt.connectAsync(broker.url, { clientId: `anonymous-${randomBytes(3).toString('hex')}`, protocolVersion: 5, clean: true, reconnectPeriod: 50 });
  client.on('error', () => { /* the waits say what went missing */ });
  ops = new Ops(client);
  await client.subscribeAsync(['govlocker/v1/+/reply', 'govlocker/v1/+/events'], { qos: 1 });
});

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
});

afterAll(async () => {
  await ops?.client.endAsync(true);
  await broker?.stop();
});

async function cabinet(cabinetId: string): Promise<{ h: Harness; key: Buffer; topics: Topics }> {
  const h = await startHarness({ mqttUrl: broker.url, config: { cabinetId } });
  harnesses.push(h);
  await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.mqtt === 'connected', 5000, 'cabinet connected');
  return { h, key: readCommandKey(join(h.dataDir, COMMAND_KEY_FILE)), topics: new Topics(cabinetId) };
}

const publish = (topic: string, body: object | string) => ops.client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
const iso = (ms: number) => new Date(ms).toISOString();
const rowCount = (h: Harness, table: 'events' | 'audit' | 'commands') => (h.controller.cabinet.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const maxSeq = (h: Harness, table: 'events' | 'audit') => (h.controller.cabinet.store.db.prepare(`SELECT coalesce(max(seq), 0) AS n FROM ${table}`).get() as { n: number }).n;
/** The data of the cmd.refused events (or audit entries) written after `seq`. */
function refusedAfter(h: Harness, table: 'events' | 'audit', seq: number): any[] {
  const column = table === 'events' ? 'type' : 'action';
  return (h.controller.cabinet.store.db.prepare(`SELECT data FROM ${table} WHERE seq > ? AND ${column} = 'cmd.refused' ORDER BY seq`).all(seq) as { data: string }[]).map((r) => JSON.parse(r.data));
}
const compartmentState = async (h: Harness, id: string) => ((await h.call('GET', '/api/v1/compartments')).json as { id: string; state: string }[]).find((c) => c.id === id)!.state;

describe('a signature is good for its own command only', () => {
  it('a disable signed without cmd, or signed as disable, does not open the door when published on …/cmd/open', async () => {
    const { h, key, topics } = await cabinet('ABUSE-NAME');
    const mark = ops.heard.length;
    const now = h.clock.now();
    // What a valid `disable` looked like before cmd was required: ops' real key, no command name in it.
    const body = { requestId: randomUUID(), issuedAt: iso(now), expiresAt: iso(now + 60_000), args: { compartment: 'A01' } };
    const unnamed = { ...body, sig: createHmac('sha256', key).update(canonicalJson(body)).digest('hex') };
    await publish(topics.command('open'), unnamed);
    expect(await ops.replyTo('ABUSE-NAME', body.requestId, mark)).toEqual({
      requestId: body.requestId, ok: false, error: "malformed: cmd: required: the command's name, signed with it; must equal the topic's name",
    });
    // Without cmd, it is not good on its own topic either.
    await publish(topics.command('disable'), unnamed);

    const named = signCommand(key, { requestId: randomUUID(), issuedAt: iso(now), expiresAt: iso(now + 60_000), cmd: 'disable', args: { compartment: 'A01' } });
    await publish(topics.command('open'), named);
    expect(await ops.replyTo('ABUSE-NAME', named.requestId, mark)).toMatchObject({ ok: false, error: expect.stringMatching(/^cmd: signed as "disable" but sent on …\/cmd\/open/) });

    // A genuine command after them: everything before it has been handled by its reply.
    const status = newCommand(key, 'status', {}, h.clock.now());
    await publish(topics.command('status'), status);
    expect(await ops.replyTo('ABUSE-NAME', status.requestId, mark)).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(simDoor(h, 'A01')).toMatchObject({ open: false, latchPulses: 0 });
    expect(await compartmentState(h, 'A01')).toBe('empty');
    expect(ops.replies('ABUSE-NAME', mark).filter((m) => m.json?.requestId === body.requestId)).toHaveLength(2);
    expect(ops.replies('ABUSE-NAME', mark).every((m) => m.json.requestId === status.requestId || m.json.ok === false)).toBe(true);
    // Refused before verification: nothing stored under their requestIds.
    const stored = h.controller.cabinet.store.db.prepare('SELECT request_id FROM commands').all() as { request_id: string }[];
    expect(stored.map((r) => r.request_id)).toEqual([status.requestId]);
  });
});

describe('a flood of unverified commands', () => {
  it('2,000 badly signed commands are a handful of rows and a bounded number of replies; a genuine command right after still works', async () => {
    const { h, key, topics } = await cabinet('ABUSE-FLOOD');
    const CAB = 'ABUSE-FLOOD';
    const rows = { events: rowCount(h, 'events'), audit: rowCount(h, 'audit'), eventSeq: maxSeq(h, 'events'), auditSeq: maxSeq(h, 'audit') };
    const mark = ops.heard.length;
    const forger = randomBytes(32);
    const flood = Array.from({ length: 2000 }, () => newCommand(forger, 'open', { compartment: 'A02', reason: 'let me in' }, h.clock.now()));
    const floodIds = new Set(flood.map((c) => c.requestId));
    const started = Date.now();
    await Promise.all(flood.map((c) => publish(topics.command('open'), c)));

    const genuine = newCommand(key, 'open', { compartment: 'A03', reason: 'applicant at the kiosk, door stuck' }, h.clock.now());
    await publish(topics.command('open'), genuine);
    expect(await ops.replyTo(CAB, genuine.requestId, mark)).toMatchObject({ ok: true, result: { compartment: 'A03' } });
    const floodMs = Date.now() - started;
    await until(() => simDoor(h, 'A03').open, 3000, 'A03 open');
    expect(simDoor(h, 'A03').latchPulses).toBe(1);
    expect(simDoor(h, 'A02').latchPulses).toBe(0);
    h.sim.model.close('A03', { occupied: false });

    // Spans that may have ended during the flood: one written at once, then one per interval at most.
    const spans = 1 + Math.ceil(floodMs / REFUSAL_INTERVAL_MS);
    const refusedSoFar = refusedAfter(h, 'events', rows.eventSeq);
    expect(refusedSoFar.length).toBeGreaterThanOrEqual(1);
    expect(refusedSoFar.length).toBeLessThanOrEqual(spans);
    expect(refusedSoFar[0]).toEqual({ count: 1, sample: { name: 'open', error: 'bad signature', requestId: flood[0]!.requestId }, since: expect.any(String), until: expect.any(String) });
    // Replies: only as many as the ration allows (those published before the genuine reply have arrived).
    const floodReplies = ops.replies(CAB, mark).filter((m) => floodIds.has(m.json?.requestId));
    expect(floodReplies.length).toBeGreaterThan(0);
    expect(floodReplies.length).toBeLessThanOrEqual(REFUSAL_REPLIES_PER_INTERVAL * spans);
    expect(floodReplies.every((m) => m.json.ok === false && m.json.error === 'bad signature')).toBe(true);

    // When the interval ends, the rest is one summary with the full count.
    await until(() => refusedAfter(h, 'events', rows.eventSeq).reduce((n, d) => n + d.count, 0) === 2000, REFUSAL_INTERVAL_MS + 5000, 'the summary of the flood');
    const refused = refusedAfter(h, 'events', rows.eventSeq);
    expect(refused.length).toBeLessThanOrEqual(spans + 1);
    const summary = refused.at(-1)!;
    expect(summary).toMatchObject({ count: expect.any(Number), sample: { name: 'open', error: 'bad signature' } });
    expect(floodIds.has(summary.sample.requestId)).toBe(true);
    expect(Date.parse(summary.since)).toBeLessThanOrEqual(Date.parse(summary.until));
    const audited = refusedAfter(h, 'audit', rows.auditSeq);
    expect(audited).toEqual(refused);

    // The whole flood and the genuine open: a handful of rows, not thousands.
    const grown = { events: rowCount(h, 'events') - rows.events, audit: rowCount(h, 'audit') - rows.audit };
    expect(grown.events).toBeLessThan(15);
    expect(grown.audit).toBeLessThan(15);
    expect(rowCount(h, 'commands')).toBe(1);
    // Ops hear the summary on …/events, and no more replies came while the flood was summed up.
    await until(() => ops.heard.slice(mark).some((m) => m.topic === topics.events && m.json?.type === 'cmd.refused' && m.json.data.count === summary.count), 5000, 'the summary on …/events');
    expect(ops.replies(CAB, mark).filter((m) => floodIds.has(m.json?.requestId)).length).toBe(floodReplies.length);
    console.log(`flood: 2000 commands in ${floodMs} ms → ${refused.length} cmd.refused rows, ${floodReplies.length} replies, ${grown.events} event rows`);
  }, 40_000);
});

describe('text an unknown sender chose', () => {
  it('a requestId, topic name or field name like <img src=x onerror=alert(1)> appears nowhere in events, audit or replies', async () => {
    const { h, key, topics } = await cabinet('ABUSE-ECHO');
    const CAB = 'ABUSE-ECHO';
    const evil = '<img src=x onerror=alert(1)>';
    const mark = ops.heard.length;
    const eventSeq = maxSeq(h, 'events');
    const auditSeq = maxSeq(h, 'audit');
    const now = h.clock.now();
    const genuine = (name: string) => newCommand(key, name, name === 'open' ? { compartment: 'A01', reason: 'checking the door' } : {}, now);
    const wellFormedId = randomUUID();
    const extraField = genuine('status');
    const elsewhere = genuine('status');
    const sent: [string, object | string][] = [
      [topics.command('open'), { ...genuine('open'), requestId: evil }],
      [topics.command('open'), signCommand(key, { requestId: evil, issuedAt: iso(now), expiresAt: iso(now + 60_000), cmd: 'open', args: { compartment: 'A01', reason: 'checking the door' } })],
      [topics.command('status'), { ...genuine('status'), requestId: `${evil}-padding-to-be-long-enough` }],
      [topics.command('status'), { ...extraField, [evil]: 1 }],
      [topics.command(evil), { ...genuine('status'), requestId: wellFormedId, sig: 'f'.repeat(64) }],
      [topics.command(evil), elsewhere],
      [topics.command('open'), `{"requestId":"${evil}",`],
    ];
    for (const [topic, body] of sent) await publish(topic, body);
    const fence = newCommand(key, 'status', {}, h.clock.now());
    await publish(topics.command('status'), fence);
    expect(await ops.replyTo(CAB, fence.requestId, mark)).toMatchObject({ ok: true });
    // Those with a well-formed requestId were answered, in the cabinet's words; the others were not.
    expect(await ops.replyTo(CAB, extraField.requestId, mark)).toMatchObject({ ok: false, error: expect.stringMatching(/^malformed: body: unknown field; a command has only requestId, /) });
    expect(await ops.replyTo(CAB, wellFormedId, mark)).toEqual({ requestId: wellFormedId, ok: false, error: 'bad signature' });
    expect(await ops.replyTo(CAB, elsewhere.requestId, mark)).toMatchObject({ ok: false, error: expect.stringMatching(/^cmd: signed as "status" but sent on another command's topic/) });

    // stop() writes what was being summed up; the new controller reads the same file.
    await h.restartController();
    const refused = refusedAfter(h, 'events', eventSeq);
    expect(refused.reduce((n, d) => n + d.count, 0)).toBe(sent.length);
    // The first of the spell, at once: no requestId to show, and the topic's name because it is a command's.
    expect(refused[0]).toEqual({ count: 1, sample: { name: 'open', error: expect.stringMatching(/^malformed: requestId: /) }, since: expect.any(String), until: expect.any(String) });
    expect(refusedAfter(h, 'audit', auditSeq)).toEqual(refused);

    const db = h.controller.cabinet.store.db;
    const everything = JSON.stringify([db.prepare('SELECT * FROM events').all(), db.prepare('SELECT * FROM audit').all(), db.prepare('SELECT * FROM commands').all()]);
    const heard = ops.heard.slice(mark).filter((m) => m.topic.startsWith(topics.base)).map((m) => m.text).join('\n');
    for (const fragment of ['onerror', '<img', 'alert(1)']) {
      expect(everything, fragment).not.toContain(fragment);
      expect(heard, fragment).not.toContain(fragment);
    }
    expect(ops.replies(CAB, mark).map((m) => m.json.requestId).sort()).toEqual([fence.requestId, extraField.requestId, wellFormedId, elsewhere.requestId].sort());
  }, 20_000);
});
