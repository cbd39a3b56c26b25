import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_KEY_FILE } from '../../controller/mqtt/central-ops.ts';
import { newCommand, readCommandKey } from '../../controller/mqtt/command-auth.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_PHONE, readyCase } from '../support/cabinet-steps.ts';
import { freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// The shipped broker setup, deploy/mosquitto/govlocker.conf and its acl file, run by a real Mosquitto: the conf as
// written, except that its TLS lines go (no certificates here, so the client-certificate listener is left out),
// its two password listeners move to free loopback ports, and its paths to a temp dir. The acl file is used as is;
// the password file is made with mosquitto_passwd, as the README says. Refusals are checked where a client
// would see them (MQTT 5 reason codes), and always by what subscribers actually receive, with a fence: a message
// published after the refused one, on the same path, whose arrival proves the refused one would have arrived.

const ROOT = resolve(import.meta.dirname, '../..');
const CONF_FILE = join(ROOT, 'deploy/mosquitto/govlocker.conf');
const ACL_FILE = join(ROOT, 'deploy/mosquitto/acl');
const PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN ?? '/usr/bin/mosquitto_passwd';
const NOT_AUTHORIZED = 0x87;

const A = 'ACL-A';
const B = 'ACL-B';
const REAL = 'ACL-GOV';
const OPS = 'ops.central';
const SMS = 'ops.sms-gateway';
const FLEET = 'ops.fleet-monitor';
const HALL = 'hall.case-system';
const passwords = new Map([A, B, REAL, OPS, SMS, FLEET, HALL].map((u) => [u, randomBytes(12).toString('hex')]));
const ta = new Topics(A);
const tb = new Topics(B);

/** The conf as a test can run it: same settings, loopback ports, temp paths, no TLS. Throws if its shape changed. */
function testableConf(text: string, o: { cabinetPort: number; backOfficePort: number; dir: string; passwordFile: string; aclFile: string }): string[] {
  const listeners: Record<string, number | null> = { 8883: o.cabinetPort, 8884: null, 8885: o.backOfficePort };
  const tls = new Set(['certfile', 'keyfile', 'cafile', 'capath', 'crlfile', 'tls_version', 'ciphers', 'require_certificate', 'use_identity_as_username']);
  const seen = new Set<string>();
  const out: string[] = [];
  let dropping = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(/\s+/);
    if (key === 'listener') {
      const port = rest[0]!;
      if (!(port in listeners)) throw new Error(`${CONF_FILE}: a listener on ${port} this test does not know; teach testableConf about it`);
      seen.add(`listener ${port}`);
      const to = listeners[port];
      dropping = to === null;
      if (to !== null) out.push(`listener ${to} 127.0.0.1`);
      continue;
    }
    if (dropping || tls.has(key)) continue;
    seen.add(key);
    switch (key) {
      case 'password_file': out.push(`password_file ${o.passwordFile}`); break;
      case 'acl_file': out.push(`acl_file ${o.aclFile}`); break;
      case 'persistence_location': out.push(`persistence_location ${o.dir}/`); break;
      case 'log_dest': out.push('log_dest stderr'); break;
      case 'pid_file': break;
      // Run as root, Mosquitto would drop to "mosquitto", which cannot write the root-owned temp dir.
      case 'user': if (process.getuid?.() === 0) out.push('user root'); break;
      default: out.push(line);
    }
  }
  for (const needed of ['listener 8883', 'listener 8884', 'listener 8885', 'password_file', 'acl_file', 'persistence_location']) {
    if (!seen.has(needed)) throw new Error(`${CONF_FILE} has no "${needed}" line any more; this test runs that file`);
  }
  return out;
}

/** The value of a global setting in the conf (before the first listener). */
function confSetting(text: string, key: string): string | undefined {
  const global = text.split(/^listener /m)[0]!;
  return global.match(new RegExp(`^${key}\\s+(\\S+)`, 'm'))?.[1];
}

interface Heard { readonly topic: string; readonly text: string; readonly retain: boolean }

/** One MQTT 5 client as one account; records everything it receives (the handler is on before CONNACK). */
class Party {
  readonly heard: Heard[] = [];
  closed = false;
  private constructor(readonly user: string, readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.heard.push({ topic, text: payload.toString('utf8'), retain: packet.retain }));
    client.on('close', () => { this.closed = true; });
  }

  static async connect(user: string, options: IClientOptions & { port?: number } = {}): Promise<Party> {
    const { port = backOfficePort, ...rest } = options;
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      username: user, password: passwords.get(user), protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000,
      clientId: `${user}-${randomBytes(3).toString('hex')}`, ...rest,
    });
    const party = new Party(user, client);
    parties.push(party);
    await new Promise<void>((ok, fail) => {
      client.once('connect', () => {
        (client.stream as Socket).setNoDelay?.(true);
        ok();
      });
      client.once('error', fail);
    });
    return party;
  }

  /** A cabinet: on the cabinets' listener. */
  static cabinet(id: string, options: IClientOptions = {}): Promise<Party> {
    return Party.connect(id, { port: broker.port, ...options });
  }

  async subscribe(...filters: string[]): Promise<number[]> {
    const granted = await this.client.subscribeAsync(filters, { qos: 1 });
    return granted.map((g) => g.qos);
  }

  /** "ok" on PUBACK (or once written, QoS 0), else the reason code the broker gave. */
  async publish(topic: string, text: string, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<'ok' | number> {
    try {
      await this.client.publishAsync(topic, text, { qos: options.qos ?? 1, retain: options.retain ?? false });
      return 'ok';
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw error;
    }
  }

  /** Everything heard whose payload carries this test's marker. */
  marked(marker: string): Heard[] {
    return this.heard.filter((m) => m.text.includes(marker));
  }

  waitFor(test: (m: Heard) => unknown, what: string, ms = 3000): Promise<Heard> {
    return until(() => this.heard.find((m) => test(m)), ms, `${this.user}: ${what}`);
  }

  end(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/**
 * `from` publishes a marker on `topic` (which it may write) and `to` (who may read it) waits for it: everything
 * the broker routed to `to` before it has arrived too.
 */
async function fence(from: Party, topic: string, ...to: Party[]): Promise<void> {
  const marker = `fence-${randomBytes(4).toString('hex')}`;
  expect(await from.publish(topic, JSON.stringify({ fence: marker })), `${from.user} may publish the fence on ${topic}`).toBe('ok');
  for (const party of to) await party.waitFor((m) => m.topic === topic && m.text.includes(marker), `the fence on ${topic}`);
}

/** The retained messages a fresh subscriber (`user`) gets on `filter` at once; `fenceTopic` tells when it has them. */
async function retainedFor(user: string, filter: string, fenceFrom: Party, fenceTopic: string): Promise<Heard[]> {
  const late = await Party.connect(user);
  await late.subscribe(filter, fenceTopic);
  await fence(fenceFrom, fenceTopic, late);
  return late.heard.filter((m) => m.retain);
}

async function refusedAtConnect(options: IClientOptions & { port?: number }): Promise<number | 'connected'> {
  const { port = broker.port, ...rest } = options;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, ...rest });
  try {
    return await new Promise<number | 'connected'>((ok, fail) => {
      client.once('connect', () => ok('connected'));
      client.once('error', (error: Error & { code?: unknown }) => (typeof error.code === 'number' ? ok(error.code) : fail(error)));
    });
  } finally {
    client.end(true);
  }
}

let broker: Mosquitto;
let backOfficePort: number;
let secrets: string;
const parties: Party[] = [];
const harnesses: Harness[] = [];
const conf = readFileSync(CONF_FILE, 'utf8');

beforeAll(async () => {
  if (!existsSync(PASSWD_BIN)) throw new Error(`${PASSWD_BIN} is missing: it comes with Debian's mosquitto package (apt-get install -y mosquitto; .ci/run does)`);
  secrets = mkdtempSync(join(tmpdir(), 'govlocker-acl-'));
  const passwordFile = join(secrets, 'passwd');
  let first = true;
  for (const [user, password] of passwords) {
    execFileSync(PASSWD_BIN, [...(first ? ['-c'] : []), '-b', passwordFile, user, password], { stdio: 'pipe' });
    first = false;
  }
  backOfficePort = await freePort();
  broker = await startMosquitto({
    config: ({ port, dir }) => testableConf(conf, { cabinetPort: port, backOfficePort, dir, passwordFile, aclFile: ACL_FILE }),
  });
});

afterEach(async () => {
  for (const party of parties.splice(0)) await party.end();
  for (const h of harnesses.splice(0)) await h.stop();
});

afterAll(async () => {
  await broker?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

describe('deploy/mosquitto: the shipped config and ACL on a real Mosquitto', () => {
  it('states what durability needs, and only known accounts get in: a wrong password, an unknown user, no credentials are refused', async () => {
    expect(confSetting(conf, 'allow_anonymous')).toBe('false');
    expect(confSetting(conf, 'per_listener_settings')).toBe('false');
    expect(confSetting(conf, 'persistence')).toBe('true');
    expect(confSetting(conf, 'set_tcp_nodelay')).toBe('true');
    expect(Number(confSetting(conf, 'max_queued_messages'))).toBeGreaterThanOrEqual(86_400);
    expect(Number(confSetting(conf, 'max_inflight_messages'))).toBeGreaterThan(20);
    expect(confSetting(conf, 'persistent_client_expiration')).toMatch(/^\d+[hdwmy]$/);

    // Mosquitto 2.0.11 answers a bad password with 0x87 "not authorized"; later ones may say 0x86 "bad user name or password".
    const refusals = [0x86, NOT_AUTHORIZED];
    expect(refusals).toContain(await refusedAtConnect({ username: A, password: 'not-the-password' }));
    expect(refusals).toContain(await refusedAtConnect({ username: 'ACL-NOBODY', password: 'whatever' }));
    expect(refusals).toContain(await refusedAtConnect({}));
    expect(refusals).toContain(await refusedAtConnect({ port: backOfficePort, username: OPS, password: passwords.get(A)! }));
    // A 3.1.1 client hears CONNACK return code 5, "not authorized".
    expect(await refusedAtConnect({ username: A, password: 'not-the-password', protocolVersion: 4 })).toBe(5);
    expect(await refusedAtConnect({ username: A, password: passwords.get(A)! })).toBe('connected');
  });

  it('cabinet A publishes its own status, events, notify and reply, and receives its own commands', async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe('govlocker/v1/#');
    const a = await Party.cabinet(A);
    await a.subscribe(ta.commands);
    const m = `own-${randomBytes(3).toString('hex')}`;

    expect(await a.publish(ta.status, JSON.stringify({ online: true, m }), { retain: true })).toBe('ok');
    expect(await a.publish(ta.events, JSON.stringify({ seq: 1, type: 'door.opened', m }))).toBe('ok');
    expect(await a.publish(ta.notify, JSON.stringify({ caseNo: 'X', m }))).toBe('ok');
    expect(await a.publish(ta.reply, JSON.stringify({ requestId: 'r-1', ok: true, m }))).toBe('ok');
    expect(await ops.publish(ta.command('status'), JSON.stringify({ requestId: 'q-1', m }))).toBe('ok');

    await a.waitFor((x) => x.topic === ta.command('status') && x.text.includes(m), 'its own command from ops');
    await fence(a, ta.events, ops);
    // Ops see the cabinet's status, events and replies, not notify (the pickup credential with the full phone is
    // the SMS gateway's alone) and not the commands on their way to the cabinet.
    expect(ops.marked(m).map((x) => x.topic).sort()).toEqual([ta.events, ta.reply, ta.status].sort());
    // Its retained status stays for whoever subscribes later.
    expect((await retainedFor(OPS, ta.status, a, ta.events)).some((x) => x.text.includes(m))).toBe(true);
  });

  it('no cabinet can publish a command, not to itself and not to another: refused (0x87), and nobody receives it', async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe('govlocker/v1/#');
    const a = await Party.cabinet(A);
    await a.subscribe(ta.commands);
    const b = await Party.cabinet(B);
    await b.subscribe(tb.commands);
    const m = `selfcmd-${randomBytes(3).toString('hex')}`;

    expect(await a.publish(ta.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe(NOT_AUTHORIZED);
    expect(await a.publish(tb.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe(NOT_AUTHORIZED);
    expect(await a.publish(tb.command('open'), JSON.stringify({ m }), { qos: 0 })).toBe('ok'); // QoS 0: no answer at all

    await fence(ops, ta.command('status'), a);
    await fence(ops, tb.command('status'), b);
    await fence(a, ta.events, ops);
    expect([...a.marked(m), ...b.marked(m), ...ops.marked(m)]).toEqual([]);
  });

  it("A's publishes on B's status, events, notify and reply are refused and never reach a subscriber of B's topics", async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe('govlocker/v1/#');
    const bWatcher = await Party.connect(OPS);
    await bWatcher.subscribe(`${tb.base}/#`);
    const sms = await Party.connect(SMS);
    await sms.subscribe(tb.notify);
    const a = await Party.cabinet(A);
    const b = await Party.cabinet(B);
    const m = `forged-${randomBytes(3).toString('hex')}`;

    for (const topic of [tb.status, tb.events, tb.notify, tb.reply]) {
      expect(await a.publish(topic, JSON.stringify({ online: false, seq: 99, m }), { retain: topic === tb.status }), topic).toBe(NOT_AUTHORIZED);
      expect(await a.publish(topic, JSON.stringify({ m, qos: 0 }), { qos: 0 })).toBe('ok');
    }
    // A's connection is ordered: once this is acknowledged, its QoS-0 publishes above were handled.
    expect(await a.publish(ta.events, JSON.stringify({ after: 'the forged publishes' }))).toBe('ok');

    await fence(b, tb.events, ops, bWatcher);
    await fence(b, tb.notify, sms);
    expect([...ops.marked(m), ...bWatcher.marked(m), ...sms.marked(m)]).toEqual([]);
    // Nor did a forged retained status stick for later subscribers.
    expect((await retainedFor(OPS, tb.status, b, tb.events)).filter((x) => x.text.includes(m))).toEqual([]);
  });

  it("A cannot read B's commands: Mosquitto grants the subscription but delivers nothing of B's", async () => {
    const ops = await Party.connect(OPS);
    const b = await Party.cabinet(B);
    await b.subscribe(tb.commands);
    const a = await Party.cabinet(A);
    const granted = await a.subscribe(tb.commands, 'govlocker/v1/#', '#');
    // Mosquitto 2.0's acl_file does not check SUBSCRIBE (it grants it); it checks read access on every delivery.
    for (const qos of granted) expect([1, NOT_AUTHORIZED]).toContain(qos);
    const m = `for-b-${randomBytes(3).toString('hex')}`;

    expect(await ops.publish(tb.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe('ok');
    expect(await b.publish(tb.status, JSON.stringify({ online: true, m }), { retain: true })).toBe('ok');
    expect(await b.publish(tb.events, JSON.stringify({ seq: 1, m }))).toBe('ok');
    await b.waitFor((x) => x.text.includes(m), "B's command");
    await fence(ops, ta.command('status'), a);
    expect(a.marked(m)).toEqual([]);
    expect(a.heard.filter((x) => !x.topic.startsWith(`${ta.base}/cmd/`))).toEqual([]);
  });

  it("A cannot use B's client id: on the cabinets' listener it stays A (B is not kicked off); on the back-office one it gets none of B's queued commands", async () => {
    const ops = await Party.connect(OPS);
    const session = { clean: false, properties: { sessionExpiryInterval: 600 } } as const;
    const b = await Party.cabinet(B, { clientId: B, ...session });
    await b.subscribe(tb.commands);
    const a = await Party.cabinet(A, { clientId: B, ...session });
    await a.subscribe(ta.commands);
    // The broker replaced A's client id by its user name, so B's connection lives on.
    await fence(ops, tb.command('status'), b);
    await fence(ops, ta.command('status'), a);
    expect(b.closed).toBe(false);

    // B offline with its session (and cmd/+ subscription) kept; a command waits for it.
    await b.end();
    const m = `queued-for-b-${randomBytes(3).toString('hex')}`;
    expect(await ops.publish(tb.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe('ok');
    // The back-office listener keeps client ids (services run several connections): A can take B's session
    // there, which is why that listener must be unreachable from the cabinets' network, but reads nothing.
    const thief = await Party.connect(A, { clientId: B, ...session });
    expect(thief.client.connected).toBe(true);
    expect(await ops.publish(tb.command('open'), JSON.stringify({ args: { compartment: 'A02' }, m }))).toBe('ok');
    await thief.subscribe(ta.commands);
    await fence(ops, ta.command('status'), thief);
    expect(thief.marked(m)).toEqual([]);
    expect(thief.heard.filter((x) => !x.topic.startsWith(`${ta.base}/cmd/`))).toEqual([]);
  });

  it("A's last will on its own status reaches ops; a will it sets on B's status is never published", async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe('govlocker/v1/+/status');
    const m = `will-${randomBytes(3).toString('hex')}`;
    const own = await Party.cabinet(A, { will: { topic: ta.status, payload: Buffer.from(JSON.stringify({ online: false, m })), qos: 1, retain: true } });
    (own.client.stream as Socket).destroy();
    await ops.waitFor((x) => x.topic === ta.status && x.text.includes(m), "A's last will");

    const forged = `forged-will-${randomBytes(3).toString('hex')}`;
    const evil = await Party.cabinet(A, { will: { topic: tb.status, payload: Buffer.from(JSON.stringify({ online: false, forged })), qos: 1, retain: true } });
    (evil.client.stream as Socket).destroy();
    await until(() => evil.closed, 2000, 'the connection with the forged will closed');
    const b = await Party.cabinet(B);
    await fence(b, tb.status, ops); // published after the broker dropped A's connection
    expect(ops.marked(forged)).toEqual([]);
  });

  it('ops send commands to any cabinet and read everything, but cannot write a cabinet\'s status or events', async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe('govlocker/v1/#');
    const b = await Party.cabinet(B);
    await b.subscribe(tb.commands);
    const a = await Party.cabinet(A);
    const m = `ops-${randomBytes(3).toString('hex')}`;

    expect(await ops.publish(tb.command('disable'), JSON.stringify({ args: { compartment: 'B02' }, m }))).toBe('ok');
    await b.waitFor((x) => x.topic === tb.command('disable') && x.text.includes(m), 'the command from ops');
    expect(await ops.publish(tb.events, JSON.stringify({ seq: 7, m }))).toBe(NOT_AUTHORIZED);
    expect(await ops.publish(tb.status, JSON.stringify({ online: false, m }), { retain: true })).toBe(NOT_AUTHORIZED);

    for (const [party, topics] of [[a, ta], [b, tb]] as const) {
      for (const topic of [topics.status, topics.events, topics.notify, topics.reply]) expect(await party.publish(topic, JSON.stringify({ m, from: party.user }))).toBe('ok');
    }
    await fence(b, tb.events, ops);
    const heard = ops.marked(m).filter((x) => !x.topic.includes('/cmd/'));
    expect(heard.map((x) => x.topic).sort()).toEqual([ta.events, ta.reply, ta.status, tb.events, tb.reply, tb.status].sort());
  });

  it('the SMS gateway hears only notify; the fleet monitor hears status, events and replies, and may send only replay and ack; the hall system only sends cases and hears replies', async () => {
    const sms = await Party.connect(SMS);
    await sms.subscribe('#');
    const fleet = await Party.connect(FLEET);
    await fleet.subscribe('#');
    const ops = await Party.connect(OPS);
    const hall = await Party.connect(HALL);
    await hall.subscribe('#');
    const a = await Party.cabinet(A);
    await a.subscribe(ta.commands);
    const m = `roles-${randomBytes(3).toString('hex')}`;

    for (const topic of [ta.status, ta.events, ta.notify, ta.reply]) expect(await a.publish(topic, JSON.stringify({ m }))).toBe('ok');
    expect(await ops.publish(ta.command('status'), JSON.stringify({ m }))).toBe('ok');
    expect(await fleet.publish(ta.command('replay'), JSON.stringify({ args: { fromSeq: 1 }, m }))).toBe('ok');
    expect(await fleet.publish(ta.command('ack'), JSON.stringify({ args: { alarmId: 1 }, m }))).toBe('ok');
    expect(await fleet.publish(ta.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe(NOT_AUTHORIZED);
    expect(await sms.publish(ta.command('status'), JSON.stringify({ m }))).toBe(NOT_AUTHORIZED);
    expect(await sms.publish(ta.events, JSON.stringify({ m }))).toBe(NOT_AUTHORIZED);
    expect(await hall.publish(ta.command('case'), JSON.stringify({ args: { action: 'cancel', caseNo: 'X' }, m }))).toBe('ok');
    expect(await hall.publish(ta.command('open'), JSON.stringify({ args: { compartment: 'A01' }, m }))).toBe(NOT_AUTHORIZED);
    expect(await hall.publish(ta.events, JSON.stringify({ m }))).toBe(NOT_AUTHORIZED);

    await fence(a, ta.notify, sms);
    await fence(a, ta.events, fleet);
    await fence(a, ta.reply, hall);
    await fence(ops, ta.command('enable'), a);
    expect(sms.heard.filter((x) => !x.topic.endsWith('/notify'))).toEqual([]);
    expect(sms.marked(m).map((x) => x.topic)).toEqual([ta.notify]);
    expect(fleet.marked(m).map((x) => x.topic).sort()).toEqual([ta.events, ta.reply, ta.status].sort());
    expect(a.marked(m).map((x) => x.topic).sort()).toEqual([ta.command('ack'), ta.command('case'), ta.command('replay'), ta.command('status')].sort());
    // The hall system hears the replies and nothing else of the cabinet.
    expect(hall.marked(m).map((x) => x.topic)).toEqual([ta.reply]);
  });

  it('a durable consumer that was away gets every event queued meanwhile (5,000: the default queue would drop 4,000)', async () => {
    const session = { clientId: `ops-durable-${randomBytes(3).toString('hex')}`, clean: false, properties: { sessionExpiryInterval: 600 } } as const;
    const first = await Party.connect(OPS, session);
    await first.subscribe(ta.events);
    await first.end();

    const a = await Party.cabinet(A);
    const m = `backlog-${randomBytes(3).toString('hex')}`;
    const outcomes = await Promise.all(Array.from({ length: 5000 }, (_, seq) => a.publish(ta.events, JSON.stringify({ seq: seq + 1, m }))));
    expect(outcomes.filter((x) => x !== 'ok')).toEqual([]);

    const back = await Party.connect(OPS, session);
    await until(() => back.marked(m).length >= 5000, 10_000, 'all 5,000 queued events');
    const seqs = back.marked(m).map((x) => (JSON.parse(x.text) as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });
});

describe('a real govlocker cabinet behind the ACL', () => {
  it('authenticates as its cabinet id: its status, events and notify reach ops and the SMS gateway, and a signed command from ops gets a reply', async () => {
    const ops = await Party.connect(OPS);
    await ops.subscribe(`govlocker/v1/${REAL}/#`);
    const sms = await Party.connect(SMS);
    await sms.subscribe('govlocker/v1/+/notify');
    const topics = new Topics(REAL);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const h = await startHarness({ mqttUrl: url, config: { cabinetId: REAL, mqtt: { url, username: REAL, password: passwords.get(REAL)! } } });
    harnesses.push(h);
    const bootId = h.controller.cabinet.bootId;

    await ops.waitFor((x) => x.topic === topics.status && JSON.parse(x.text).online === true && JSON.parse(x.text).bootId === bootId, 'its online status', 5000);
    await ops.waitFor((x) => x.topic === topics.events && JSON.parse(x.text).type === 'cabinet.started', 'cabinet.started');
    const { code } = await readyCase(h, 'ACL-CASE-1', [{ type: 'seal', barcode: 'ACL-SEAL-1' }]);
    for (const type of ['case.created', 'item.loaded', 'case.ready']) {
      await ops.waitFor((x) => x.topic === topics.events && JSON.parse(x.text).type === type, type);
    }
    // The credential readyCase issued (case.ready sent a first one before it).
    const notify = await sms.waitFor((x) => x.topic === topics.notify && JSON.parse(x.text).code === code, 'the credential for the SMS gateway');
    expect(JSON.parse(notify.text)).toMatchObject({ caseNo: 'ACL-CASE-1', phone: FULL_PHONE, code });

    const key = readCommandKey(join(h.dataDir, COMMAND_KEY_FILE));
    const command = newCommand(key, 'status', {}, h.clock.now());
    const mark = ops.heard.length;
    expect(await ops.publish(topics.command('status'), JSON.stringify(command))).toBe('ok');
    const reply = await ops.waitFor((x) => x.topic === topics.reply && JSON.parse(x.text).requestId === command.requestId, 'the reply');
    expect(JSON.parse(reply.text)).toEqual({ requestId: command.requestId, ok: true, result: { published: true } });
    await until(() => ops.heard.slice(mark).find((x) => x.topic === topics.status && JSON.parse(x.text).online === true), 3000, 'the status the command asked for');
    await until(async () => {
      const health = (await h.call('GET', '/api/v1/health', undefined, null)).json as { mqtt: string; outbox: number };
      return health.mqtt === 'connected' && health.outbox === 0;
    }, 3000, '/health: mqtt connected, outbox drained');

    // A clean stop says offline on the same topic, through the same ACL.
    await h.stopController();
    await ops.waitFor((x) => x.topic === topics.status && x.text === JSON.stringify({ online: false, bootId }), 'offline at a clean stop');
  });
});
