import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { COMMAND_KEY_FILE } from '../../controller/mqtt/central-ops.ts';
import { newCommand, readCommandKey, signCommand } from '../../controller/mqtt/command-auth.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import { ADMIN_TOKEN, caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, readyCase } from '../support/cabinet-steps.ts';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// Hostile input on the three ways into a running cabinet — the scanner's TCP line, the admin/kiosk HTTP API and
// the MQTT command topics — with fast-check. The seed is fixed (FUZZ_SEED overrides it) and printed, and
// fast-check names seed and path of a failing case, so every failure can be replayed exactly.

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const settings = (numRuns: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(numRuns * RUNS)), endOnFailure: true });
console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}; FUZZ_RUNS=k runs k times as many cases)`);

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const pulses = (harness: Harness) => Object.values(harness.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);

/** Every row of the tables that hold cases, items, credentials and doors; guard/event/audit bookkeeping is not here. */
const WATCHED = ['cases', 'items', 'credentials', 'loads', 'opens', 'pickups', 'commands', 'compartments'] as const;
function rows(harness: Harness): Record<string, string> {
  const db = harness.controller.cabinet.store.db;
  return Object.fromEntries(WATCHED.map((t) => [t, JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all())]));
}
const lastSeq = (harness: Harness) => (harness.controller.cabinet.store.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get() as { n: number }).n;
const eventTypesAfter = (harness: Harness, seq: number) => new Set((harness.controller.cabinet.store.db.prepare('SELECT type FROM events WHERE seq > ?').all(seq) as { type: string }[]).map((r) => r.type));

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('fuzz: the scanner line', () => {
  it('hostile bytes on the real scanner TCP line: no crash, no pulse, nothing written but guard bookkeeping', async () => {
    h = await startHarness();
    const harness = h;
    const ready = await readyCase(harness, 'FUZZ-SCAN', [{ type: 'seal', barcode: 'FUZZ-SCAN-SEAL' }]);
    await harness.sim.scanner.waitForReaders(1);

    // Every line the controller takes from the scanner, in order (the product's own hook, wrapped, not changed).
    const pickup = harness.controller.cabinet.services.pickup;
    const original = pickup.scan.bind(pickup);
    const seen: string[] = [];
    const answers: string[] = [];
    pickup.scan = (line: string) => {
      seen.push(line);
      const answer = original(line);
      answers.push(answer.result === 'denied' ? `denied:${answer.reason}` : answer.result);
      return answer;
    };

    const before = rows(harness);
    const pulsesBefore = pulses(harness);
    const seqBefore = lastSeq(harness);

    const qrShaped = fc.string({ unit: fc.constantFrom(...B64URL), minLength: 24, maxLength: 24 }).map((s) => `GLQ1.${s}`).filter((s) => s !== ready.qr);
    /** The real QR with one character changed, cut, lengthened or re-cased. */
    const nearReal = fc.tuple(fc.nat({ max: ready.qr.length - 1 }), fc.constantFrom(...B64URL), fc.constantFrom('swap', 'cut', 'extend', 'lower', 'prefix')).map(([i, c, how]) => {
      const q = ready.qr;
      switch (how) {
        case 'swap': return q.slice(0, i) + (q[i] === c ? (c === 'A' ? 'B' : 'A') : c) + q.slice(i + 1);
        case 'cut': return q.slice(0, Math.max(5, i));
        case 'extend': return q + c;
        case 'lower': return q.toLowerCase() === q ? q.toUpperCase() : q.toLowerCase();
        default: return `${c}${q}`;
      }
    }).filter((s) => s !== ready.qr);
    const nearMissText = fc.oneof(
      qrShaped,
      nearReal,
      fc.string({ maxLength: 60 }).map((s) => `GLQ1.${s}`),
      fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `GLQ1.${s}`),
      fc.constantFrom('GLQ1.', 'GLQ1', 'glq1.AAAAAAAAAAAAAAAAAAAAAAAA', 'GLQ2.AAAAAAAAAAAAAAAAAAAAAAAA', 'GLQ1.AAAAAAAAAAAAAAAAAAAAAAA=', 'GLQ1.AAAAAAAAAAAAAAAAAAAAAAA\u0410'),
    );
    const term = fc.constantFrom('\r\n', '\n', '\r', '\n\r', '\r\r\n', '');
    const line = fc.tuple(fc.oneof(nearMissText, fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 200 })), term).map(([t, e]) => Buffer.from(t + e, 'utf8'));
    const invalidUtf8 = fc.constantFrom(
      [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff, 0xfe], [0xef, 0xbb, 0xbf], [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf],
      [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x00], [0x1b, 0x5b, 0x32, 0x4a], [0x7f], [0xc2, 0x85], [0xc2, 0x9b],
    ).map((b) => Buffer.from(b));
    const huge = fc.tuple(fc.integer({ min: 500, max: 300_000 }), fc.constantFrom(0x41, 0x20, 0x09, 0x00, 0xff), term).map(([n, b, e]) => Buffer.concat([Buffer.from('GLQ1.'), Buffer.alloc(n, b), Buffer.from(e)]));
    const crlfMix = fc.array(fc.constantFrom('\r', '\n', '\r\n', '\n\r', ' ', '\t', 'GLQ1.', 'A', '\u00a0', '\ufeff'), { maxLength: 60 }).map((p) => Buffer.from(p.join(''), 'utf8'));
    const chunk = fc.oneof(
      { weight: 3, arbitrary: line },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)) },
      { weight: 1, arbitrary: invalidUtf8 },
      { weight: 1, arbitrary: huge },
      { weight: 2, arbitrary: crlfMix },
    );
    /** A sample is a few chunks; each may further be split at a random point into two TCP writes. */
    const sample = fc.array(fc.tuple(chunk, fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 5 });

    let cases = 0;
    let bytes = 0;
    await fc.assert(fc.asyncProperty(sample, async (chunks) => {
      cases++;
      for (const [c, cut] of chunks) {
        const at = Math.floor(c.length * cut);
        harness.sim.scanner.sendRaw(c.subarray(0, at));
        harness.sim.scanner.sendRaw(c.subarray(at));
        bytes += c.length;
      }
      // Ends any line left open, then a marker line: once it arrives, everything before it has been handled.
      const fence = `FENCE-${randomUUID()}`;
      harness.sim.scanner.sendRaw(Buffer.from('\r\n'));
      harness.sim.scanner.scan(fence);
      await until(() => seen.includes(fence), 5000, `fence ${fence} through the scanner line`);
      expect(pulses(harness)).toBe(pulsesBefore);
      expect(answers.filter((a) => a === 'opened')).toEqual([]);
    }), settings(150));

    expect(harness.sim.scanner.readers).toBe(1);
    expect((await harness.call('GET', '/api/v1/health', undefined, null)).status).toBe(200);
    expect(rows(harness)).toEqual(before);
    expect(pulses(harness)).toBe(pulsesBefore);
    const types = [...eventTypesAfter(harness, seqBefore)];
    expect(types.filter((t) => !['pickup.denied', 'pickup.lockout', 'alarm.raised'].includes(t))).toEqual([]);
    const tally = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
    console.log(`fuzz scanner: ${cases} cases, ${(bytes / 1024).toFixed(0)} KiB, ${seen.length} lines reached the controller: ${JSON.stringify(tally)}`);

    // The line still works for the real holder: the clerk resumes code entry, the real QR asks for the ID suffix.
    await harness.call('POST', '/api/v1/pickup-guard/resume');
    harness.sim.scanner.scan(ready.qr);
    await until(() => seen.includes(ready.qr), 3000, 'the real QR through the line');
    expect(answers.at(-1)).toBe('need-id');
  }, 60_000);
});

describe('fuzz: HTTP bodies', () => {
  it('random JSON and non-JSON bodies to every POST endpoint, with and without a token: 4xx with {error, issues}, no pulse, no row', async () => {
    h = await startHarness();
    const harness = h;
    const clerk = addUser(harness, 'fuzz-clerk', 'clerk');
    const ops = addUser(harness, 'fuzz-ops', 'ops');
    const realIds = Object.keys(harness.sim.model.snapshot());
    const realSet = new Set(realIds);
    const before = rows(harness);
    const pulsesBefore = pulses(harness);

    const tokens = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom<string | null>(ADMIN_TOKEN, clerk, ops) },
      { weight: 1, arbitrary: fc.constantFrom<string | null>(null, 'wrong-token-0123456789', '') },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{0,60}$/) },
    );
    const anyId = fc.oneof(fc.constantFrom(...realIds), fc.string({ maxLength: 12 }).filter((s) => !realSet.has(s)));
    const fakeId = fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^[A-Z][0-9]{2}$/)).filter((s) => !realSet.has(s));
    const caseNo = fc.string({ maxLength: 40 }).filter((s) => !s.startsWith('FUZZ-REAL'));
    const endpoint = fc.oneof(
      fc.constant({ path: '/api/v1/cases', realDoor: false }),
      fc.constant({ path: '/api/v1/loads', realDoor: false }),
      fc.constant({ path: '/api/v1/kiosk/pickup', realDoor: false }),
      fc.tuple(fc.constantFrom('open', 'disable', 'enable'), anyId).map(([a, id]) => ({ path: `/api/v1/compartments/${encodeURIComponent(id)}/${a}`, realDoor: realSet.has(id) })),
      fc.tuple(fc.constantFrom('open', 'disable', 'enable'), fakeId).map(([a, id]) => ({ path: `/api/v1/compartments/${encodeURIComponent(id)}/${a}`, realDoor: false })),
      fc.tuple(fc.constantFrom('notify', 'retrieve'), caseNo).map(([a, c]) => ({ path: `/api/v1/cases/${encodeURIComponent(c)}/${a}`, realDoor: false })),
    );
    const nested = fc.tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => open.repeat(n) + (open === '[' ? ']' : '}').repeat(n));
    const nearCase = fc.record({ caseNo: fc.oneof(fc.string(), fc.integer()), enterprise: fc.oneof(fc.constant(caseBody('X', []).enterprise), fc.object()), applicant: fc.oneof(fc.record({ name: fc.string(), phone: fc.string(), idNumber: fc.string() }), fc.constant(null)), items: fc.oneof(fc.constant([]), fc.array(fc.record({ type: fc.string(), barcode: fc.oneof(fc.string(), fc.integer()) }), { maxLength: 3 })) }, { requiredKeys: [] });
    const nearKiosk = fc.record({ code: fc.oneof(fc.stringMatching(/^\d{0,12}$/), fc.integer(), fc.string()), qr: fc.oneof(fc.string({ maxLength: 300 }), fc.constant(null)), idSuffix: fc.oneof(fc.string(), fc.integer()), scanId: fc.oneof(fc.uuid(), fc.string()) }, { requiredKeys: [] });
    const hostile = fc.constantFrom(
      '{"__proto__":{"role":"admin","ok":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"reason":"x","__proto__":{"reason":"opened by proto"}}',
      'null', 'true', '0', '""', '[]', '{}', '{', '}', '{"a":1,}', 'NaN', '1e999', '"\\ud800"', '{"code":"1234567\u0661","idSuffix":"011235"}',
      '\u0000', '\ufeff{}', `{"barcode":"${'A'.repeat(70_000)}"}`, ' ', '\r\n',
    );
    const body = fc.oneof(
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      nearCase.map((v) => JSON.stringify(v)),
      nearKiosk.map((v) => JSON.stringify(v)),
      fc.record({ barcode: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ reason: fc.oneof(fc.string({ maxLength: 250 }), fc.integer()), extra: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 500 }),
      fc.uint8Array({ maxLength: 500 }).map((a) => Buffer.from(a)),
      nested,
      hostile,
    );
    const contentType = fc.oneof(
      { weight: 5, arbitrary: fc.constant<string | undefined>('application/json') },
      { weight: 3, arbitrary: fc.constantFrom<string | undefined>(undefined, 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/JSON', 'application/json; charset=latin1', 'application/octet-stream', '*/*', 'application/json, text/plain', ';;;') },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/) },
    );

    /** Bodies the kiosk schema accepts: a real pickup request, answered 200 "denied" or "need-id" (never a write but guard bookkeeping). */
    const kioskShaped = (text: string): boolean => {
      try {
        const v = JSON.parse(text) as Record<string, unknown>;
        return v !== null && typeof v === 'object' && !Array.isArray(v);
      } catch {
        return false;
      }
    };

    const statuses: Record<number, number> = {};
    let cases = 0;
    await fc.assert(fc.asyncProperty(endpoint, body, tokens, contentType, async (ep, payload, token, type) => {
      // A real door with a token that may open it and a body that asks properly would be a legitimate open.
      fc.pre(!(ep.realDoor && (token === ADMIN_TOKEN || token === ops)));
      cases++;
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (type !== undefined) headers['content-type'] = type;
      const r = await harness.controller.api.inject({ method: 'POST', url: ep.path, headers, payload });
      statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      const where = `${ep.path} ${r.statusCode} ${r.body.slice(0, 300)}`;
      if (ep.path === '/api/v1/kiosk/pickup' && r.statusCode === 200) {
        expect(kioskShaped(typeof payload === 'string' ? payload : payload.toString('utf8')), where).toBe(true);
        expect(['denied', 'need-id'], where).toContain(r.json().result);
      } else {
        expect(r.statusCode, where).toBeGreaterThanOrEqual(400);
        expect(r.statusCode, where).toBeLessThan(500);
        const json = r.json() as { error: unknown; issues: unknown };
        expect(typeof json.error, where).toBe('string');
        expect(Array.isArray(json.issues), where).toBe(true);
      }
      expect(pulses(harness)).toBe(pulsesBefore);
    }), settings(3000));

    await new Promise((r) => setTimeout(r, 100));
    expect(pulses(harness)).toBe(pulsesBefore);
    expect(rows(harness)).toEqual(before);
    console.log(`fuzz HTTP: ${cases} requests, statuses ${JSON.stringify(statuses)}`);
  }, 60_000);
});

describe('fuzz: MQTT commands', () => {
  let broker: Mosquitto | null = null;
  let client: MqttClient | null = null;
  afterAll(async () => {
    await client?.endAsync(true);
    await broker?.stop();
  });

  it('random payloads and topics on …/cmd/…: no crash, no pulse, no commands row, every unsigned or mis-signed command refused', async () => {
    broker = await startMosquitto();
    const CAB = 'FUZZ-MQ';
    const topics = new Topics(CAB);
    h = await startHarness({ mqttUrl: broker.url, config: { cabinetId: CAB } });
    const harness = h;
    const key = readCommandKey(join(harness.dataDir, COMMAND_KEY_FILE));
    await until(async () => (await harness.call('GET', '/api/v1/health', undefined, null)).json.mqtt === 'connected', 5000, 'cabinet connected');
    const replies = new Map<string, { ok: boolean; error?: string }>();
    client = mqtt.connect(broker.url, { clientId: `fuzz-ops-${randomBytes(3).toString('hex')}`, protocolVersion: 5, reconnectPeriod: 50 });
    const c = client;
    c.on('error', () => {});
    c.on('message', (_topic, payload) => {
      try {
        const r = JSON.parse(payload.toString('utf8')) as { requestId: string; ok: boolean; error?: string };
        replies.set(r.requestId, r);
      } catch { /* not ours */ }
    });
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    await c.subscribeAsync(topics.reply, { qos: 1 });

    const before = rows(harness);
    const pulsesBefore = pulses(harness);
    const seqBefore = lastSeq(harness);
    const commandsBefore = (harness.controller.cabinet.store.db.prepare('SELECT count(*) AS n FROM commands').get() as { n: number }).n;

    const names = ['open', 'disable', 'enable', 'status', 'retrieve', 'replay'] as const;
    const goodArgs = fc.constantFrom<Record<string, unknown>>({ compartment: 'A01', reason: 'fuzzing the command line' }, { compartment: 'A02' }, {}, { caseNo: 'X-1' }, { fromSeq: 1 });
    const requestId = fc.stringMatching(/^[A-Za-z0-9]{12,30}$/).map((s) => `fz-${s}`);
    /** Looks like a real command; the signature is random, missing, another key's, or over other fields. */
    const unsigned = fc.tuple(fc.constantFrom(...names), requestId, goodArgs, fc.constantFrom('random', 'other-key', 'other-body', 'upper-hex', 'sig-of-sig', 'short')).map(([name, id, args, how]) => {
      const now = harness.clock.now();
      const body = { requestId: id, issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + 60_000).toISOString(), cmd: name, args };
      const real = signCommand(key, body).sig;
      let sig: string;
      switch (how) {
        case 'random': sig = randomBytes(32).toString('hex'); break;
        case 'other-key': sig = signCommand(randomBytes(32), body).sig; break;
        case 'other-body': sig = signCommand(key, { ...body, args: { ...args, extra: 1 } }).sig; break;
        case 'upper-hex': sig = real.toUpperCase(); break;
        case 'sig-of-sig': sig = signCommand(key, { ...body, cmd: `${name} ` }).sig; break;
        default: sig = real.slice(0, 63);
      }
      return { name, id, text: JSON.stringify({ ...body, sig }), expectError: how === 'upper-hex' || how === 'short' ? /^malformed: sig/ : /^bad signature$/ };
    });
    /** Signed with the cabinet's real key but never valid: expired, too long, from the future, or for another topic. */
    const signedWrong = fc.tuple(fc.constantFrom(...names), fc.constantFrom('expired', 'long', 'future', 'other-topic', 'inverted')).map(([name, how]) => {
      const now = harness.clock.now();
      let cmd;
      let topicName: string = name;
      switch (how) {
        case 'expired': cmd = newCommand(key, name, {}, now - 120_000, 60_000); break;
        case 'long': cmd = newCommand(key, name, {}, now, 5 * 60_000 + 1); break;
        case 'future': cmd = newCommand(key, name, {}, now + 10 * 60_000, 60_000); break;
        case 'inverted': cmd = signCommand(key, { requestId: randomUUID(), issuedAt: new Date(now).toISOString(), expiresAt: new Date(now).toISOString(), cmd: name, args: {} }); break;
        default: cmd = newCommand(key, name, {}, now); topicName = names[(names.indexOf(name) + 1) % names.length]!;
      }
      return { name: topicName, id: cmd.requestId, text: JSON.stringify(cmd), expectError: /./ };
    });
    const topicName = fc.oneof(fc.constantFrom(...names, 'openall', 'OPEN', 'open ', ''), fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map((s) => s.replace(/[/+#\u0000]/g, '_')));
    const junkPayload = fc.oneof(
      fc.json().map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
      fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s)),
      fc.record({ requestId: fc.oneof(requestId, fc.string(), fc.integer()), issuedAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), expiresAt: fc.string(), args: fc.anything(), sig: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()), cmd: fc.string() }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.constantFrom('{"__proto__":{"ok":true}}', '{"requestId":"__proto__xx","sig":"00"}', 'null', '[]', '', '{"requestId":"fz-aaaaaaaaaaaaaaaa","issuedAt":"2026-11-23T10:00:00Z","expiresAt":"2026-11-23T10:01:00Z","args":{},"sig":"' + '0'.repeat(64) + '","extra":1}').map((s) => Buffer.from(s)),
    );
    const junk = fc.tuple(fc.oneof(
      { weight: 4, arbitrary: topicName.map((n) => topics.command(n)) },
      { weight: 1, arbitrary: fc.constantFrom(`${topics.base}/cmd/open/x`, `${topics.base}/cmd`, `govlocker/v1/OTHER/cmd/open`, `govlocker/v1/${CAB}/cmdx/open`, `${topics.base}/reply/../cmd/open`) },
    ), junkPayload).map(([topic, payload]) => ({ kind: 'junk' as const, topic, payload }));
    const message = fc.oneof(
      { weight: 3, arbitrary: junk },
      { weight: 2, arbitrary: unsigned.map((u) => ({ kind: 'verify' as const, topic: topics.command(u.name), payload: Buffer.from(u.text), id: u.id, expectError: u.expectError })) },
      { weight: 1, arbitrary: signedWrong.map((u) => ({ kind: 'verify' as const, topic: topics.command(u.name), payload: Buffer.from(u.text), id: u.id, expectError: u.expectError })) },
    );

    let cases = 0;
    let verified = 0;
    let fences = 0;
    await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (batch) => {
      for (const m of batch) {
        cases++;
        await c.publishAsync(m.topic, m.payload, { qos: 1 });
      }
      // A genuine status command as a marker: verified commands are always answered, in order, so its reply
      // means everything published before it has been handled.
      const fence = newCommand(key, 'status', {}, harness.clock.now());
      fences++;
      await c.publishAsync(topics.command('status'), JSON.stringify(fence), { qos: 1 });
      await until(() => replies.get(fence.requestId), 5000, `reply to ${fence.requestId}`);
      for (const m of batch) {
        if (m.kind !== 'verify') continue;
        verified++;
        // Replies to refused commands are rate-limited (a flood must not become a reply flood): one may be
        // missing, but one that came says what was wrong.
        const reply = replies.get(m.id);
        if (!reply) continue;
        expect(reply.ok, JSON.stringify(reply)).toBe(false);
        expect(reply.error, JSON.stringify(reply)).toMatch(m.expectError);
      }
      expect(pulses(harness)).toBe(pulsesBefore);
    }), settings(60));

    await new Promise((r) => setTimeout(r, 100));
    // Only the genuine fences were stored under their requestIds.
    expect((harness.controller.cabinet.store.db.prepare('SELECT count(*) AS n FROM commands').get() as { n: number }).n).toBe(commandsBefore + fences);
    expect({ ...rows(harness), commands: null }).toEqual({ ...before, commands: null });
    expect(pulses(harness)).toBe(pulsesBefore);
    expect([...eventTypesAfter(harness, seqBefore)].filter((t) => t !== 'cmd.refused' && t !== 'cmd.executed')).toEqual([]);
    expect((await harness.call('GET', '/api/v1/health', undefined, null)).json.mqtt).toBe('connected');
    // Still listening: a properly signed status command is executed.
    const status = newCommand(key, 'status', {}, harness.clock.now());
    await c.publishAsync(topics.command('status'), JSON.stringify(status), { qos: 1 });
    expect((await until(() => replies.get(status.requestId), 5000, 'status reply')).ok).toBe(true);
    console.log(`fuzz MQTT: ${cases} messages, ${verified} verified-looking commands refused, replies ${replies.size}`);
  }, 60_000);
});
