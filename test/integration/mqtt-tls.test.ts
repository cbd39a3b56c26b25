import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Topics } from '../../controller/mqtt/topics.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';
import { issue, makeCa, requireOpenssl, writeCrl, type TestCa, type TestCert } from '../support/test-pki.ts';

// Cabinets authenticating with client certificates (deploy/mosquitto/README.md, "With a client certificate instead
// of a password"), against a real Mosquitto running the shipped deploy/mosquitto/govlocker.conf and acl:
//
// - the conf's 8884 listener (require_certificate, use_identity_as_username, use_username_as_clientid, crlfile) as
//   written, on a free loopback port, with its certificate files swapped for ones this test makes with openssl;
// - its 8885 back-office listener (TLS, user name + password from the password file) for the ops subscriber, as
//   in production: ops are not given a certificate of the cabinets' CA (the README forbids a CN with a dot there);
// - 8883 (cabinets with passwords) is left out: test/integration/mosquitto-acl.test.ts covers it without TLS.
//
// Everything else in the conf stays, plus `log_type debug`, so that the broker's own "Denied PUBLISH from <user>"
// lines show who it took a client for. The acl file is used as is.

const ROOT = resolve(import.meta.dirname, '../..');
const CONF_FILE = join(ROOT, 'deploy/mosquitto/govlocker.conf');
const ACL_FILE = join(ROOT, 'deploy/mosquitto/acl');
const PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN ?? '/usr/bin/mosquitto_passwd';

const OPS = 'ops.central';
const OPS_PASSWORD = randomBytes(12).toString('hex');
const A = 'TLS-A';
const B = 'TLS-B';
const ta = new Topics(A);

interface Pki {
  readonly ca: TestCa;
  readonly server: TestCert;
  readonly a: TestCert;
  readonly b: TestCert;
  readonly revoked: TestCert;
  readonly crl: string;
  /** A CA the broker does not know, and a TLS-A certificate it signed. */
  readonly rogueA: TestCert;
}

/** The shipped conf with its 8884 and 8885 listeners on loopback ports and its files in `dir`; 8883 dropped. */
function tlsConf(text: string, o: { certPort: number; backOfficePort: number; dir: string; pki: Pki; passwordFile: string }): string[] {
  const ports: Record<string, number | null> = { 8883: null, 8884: o.certPort, 8885: o.backOfficePort };
  const files: Record<string, string> = {
    certfile: o.pki.server.cert, keyfile: o.pki.server.key, cafile: o.pki.ca.cert, crlfile: o.pki.crl,
    password_file: o.passwordFile, acl_file: ACL_FILE, persistence_location: `${o.dir}/`,
  };
  const seen = new Set<string>();
  const out: string[] = [];
  let dropping = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(/\s+/);
    if (key === 'listener') {
      const port = rest[0]!;
      if (!(port in ports)) throw new Error(`${CONF_FILE}: a listener on ${port} this test does not know; teach tlsConf about it`);
      const to = ports[port];
      dropping = to === null;
      if (to !== null) out.push(`listener ${to} 127.0.0.1`);
      continue;
    }
    if (dropping) continue;
    seen.add(key);
    if (key in files) out.push(`${key} ${files[key]}`);
    else if (key === 'log_dest') out.push('log_dest stderr');
    else if (key === 'pid_file') continue;
    // Run as root, Mosquitto would drop to "mosquitto", which cannot write the root-owned temp dir.
    else if (key === 'user') { if (process.getuid?.() === 0) out.push('user root'); }
    else out.push(line);
  }
  for (const needed of ['require_certificate', 'use_identity_as_username', 'cafile', 'crlfile', 'password_file', 'acl_file']) {
    if (!seen.has(needed)) throw new Error(`${CONF_FILE} has no "${needed}" line any more; this test runs that file`);
  }
  return [...out, 'log_type debug'];
}

interface Heard { readonly topic: string; readonly text: string; readonly retain: boolean }

/** What happened to one connection attempt: CONNACK, or the error / close that came instead. */
type Outcome = { connected: true; client: MqttClient } | { connected: false; error: string };

function attempt(port: number, options: IClientOptions): Promise<Outcome> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, clientId: `tls-test-${randomBytes(3).toString('hex')}`, ...options,
  });
  clients.push(client);
  return new Promise<Outcome>((ok) => {
    client.once('connect', () => ok({ connected: true, client }));
    client.once('error', (error) => ok({ connected: false, error: error.message }));
    client.once('close', () => ok({ connected: false, error: 'closed before CONNACK' }));
  });
}

async function connected(port: number, options: IClientOptions): Promise<MqttClient> {
  const outcome = await attempt(port, options);
  if (!outcome.connected) throw new Error(`expected to connect to ${port}, got: ${outcome.error}`);
  return outcome.client;
}

/** The ops console: TLS (the broker's CA) + user name and password on the back-office listener. */
async function opsSubscriber(...filters: string[]): Promise<{ client: MqttClient; heard: Heard[] }> {
  const heard: Heard[] = [];
  const client = mqtt.connect(`mqtts://127.0.0.1:${backOfficePort}`, {
    protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, clientId: `ops-${randomBytes(3).toString('hex')}`,
    username: OPS, password: OPS_PASSWORD, ca: readFileSync(pki.ca.cert),
  });
  clients.push(client);
  client.on('message', (topic, payload, packet) => heard.push({ topic, text: payload.toString('utf8'), retain: packet.retain }));
  await new Promise<void>((ok, fail) => {
    client.once('connect', () => ok());
    client.once('error', fail);
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, heard };
}

/** The TLS section of a cabinet's config, as the README has it. */
const tlsFor = (cert: TestCert) => ({ ca: pki.ca.cert, cert: cert.cert, key: cert.key });

const json = (text: string): Record<string, unknown> => {
  try { return JSON.parse(text) as Record<string, unknown>; } catch { return {}; }
};

let pki: Pki;
let work: string;
let broker: Mosquitto;
let backOfficePort: number;
const clients: MqttClient[] = [];
const harnesses: Harness[] = [];

beforeAll(async () => {
  requireOpenssl();
  if (!existsSync(PASSWD_BIN)) throw new Error(`${PASSWD_BIN} is missing: it comes with Debian's mosquitto package (apt-get install -y mosquitto)`);
  work = mkdtempSync(join(tmpdir(), 'govlocker-tls-'));
  const ca = makeCa(work, 'cabinets-ca');
  const rogue = makeCa(work, 'rogue-ca');
  const revoked = issue(ca, 'TLS-R', 'TLS-R');
  pki = {
    ca,
    server: issue(ca, 'broker', '127.0.0.1', { ip: '127.0.0.1' }),
    a: issue(ca, A, A),
    b: issue(ca, B, B),
    revoked,
    crl: writeCrl(ca, [revoked]),
    rogueA: issue(rogue, A, A),
  };
  const passwordFile = join(work, 'passwd');
  execFileSync(PASSWD_BIN, ['-c', '-b', passwordFile, OPS, OPS_PASSWORD], { stdio: 'pipe' });
  backOfficePort = await freePort();
  const conf = readFileSync(CONF_FILE, 'utf8');
  broker = await startMosquitto({ config: ({ port, dir }) => tlsConf(conf, { certPort: port, backOfficePort, dir, pki, passwordFile }) });
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.endAsync(true);
  for (const h of harnesses.splice(0)) await h.stop();
});

afterAll(async () => {
  await broker?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('cabinets with client certificates on the shipped TLS listener (CN = user name) and ACL', () => {
  it(`a cabinet with ${A}'s certificate connects over mqtts; ops see its retained online status and its events; /health says connected`, async () => {
    const live = await opsSubscriber(`${ta.base}/#`);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const h = await startHarness({ mqttUrl: url, config: { cabinetId: A, mqtt: { url, tls: tlsFor(pki.a) } } });
    harnesses.push(h);
    const bootId = h.controller.cabinet.bootId;

    await until(() => live.heard.find((m) => m.topic === ta.status && json(m.text).online === true && json(m.text).bootId === bootId), 5000, 'its online status');
    await until(() => live.heard.find((m) => m.topic === ta.events && json(m.text).type === 'cabinet.started'), 3000, 'its cabinet.started event');
    await until(async () => {
      const health = (await h.call('GET', '/api/v1/health', undefined, null)).json as { mqtt: string; outbox: number };
      return health.mqtt === 'connected' && health.outbox === 0 ? health : null;
    }, 3000, '/api/v1/health: mqtt connected, outbox drained');
    // The broker took the cabinet for its certificate's CN, and made that its client id too.
    expect(broker.log()).toMatch(new RegExp(`New client connected from 127\\.0\\.0\\.1:\\d+ as ${A} .*u'${A}'`));
    // An event made now travels the same way.
    const mark = live.heard.length;
    const off = await h.call('POST', '/api/v1/compartments/A01/disable', { reason: 'tls test' });
    expect(off.status, JSON.stringify(off.json)).toBeLessThan(300);
    await until(() => live.heard.slice(mark).find((m) => m.topic === ta.events && json(m.text).type === 'compartment.disabled'), 3000, 'compartment.disabled');

    // A subscriber arriving later gets the status at once, retained.
    const late = await opsSubscriber(ta.status);
    const retained = await until(() => late.heard.find((m) => m.topic === ta.status && m.retain), 3000, 'the retained status');
    expect(json(retained.text)).toMatchObject({ online: true, bootId });
  });

  it(`a cabinet configured as ${A} but presenting ${B}'s certificate is ${B} to the broker: nothing it publishes reaches ${A}'s topics`, async () => {
    const live = await opsSubscriber(`${ta.base}/#`);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const impostor = await startHarness({ mqttUrl: url, config: { cabinetId: A, mqtt: { url, tls: tlsFor(pki.b) } } });
    harnesses.push(impostor);
    const bootId = impostor.controller.cabinet.bootId;

    // It is connected (MQTT 5 PUBACKs carry the refusals), and the broker refuses its status and events as TLS-B's.
    await until(async () => ((await impostor.call('GET', '/api/v1/health', undefined, null)).json as { mqtt: string }).mqtt === 'connected', 5000, 'the impostor connected');
    for (const topic of [ta.status, ta.events]) {
      await until(() => new RegExp(`Denied PUBLISH from ${B} \\(d0, q1, r[01], m\\d+, '${topic}'`).test(broker.log()), 3000, `the broker denying ${B}'s publish on ${topic}`);
    }
    const health = (await impostor.call('GET', '/api/v1/health', undefined, null)).json as { mqtt: string; outbox: number };
    expect(health).toMatchObject({ mqtt: 'connected' });
    expect(health.outbox).toBeGreaterThan(0); // its events are not sent: the README's trap, visible on /health

    // Fence: the real TLS-A publishes after the refusals; once ops have it, a leaked message would be there too.
    const realA = await connected(broker.port, { ...certOptions(pki.a) });
    const fence = `fence-${randomBytes(4).toString('hex')}`;
    await realA.publishAsync(ta.events, JSON.stringify({ fence }), { qos: 1 });
    await until(() => live.heard.find((m) => m.topic === ta.events && m.text.includes(fence)), 3000, 'the fence from the real TLS-A');
    expect(live.heard.filter((m) => m.text.includes(bootId))).toEqual([]);
    expect(live.heard.filter((m) => m.topic !== ta.events || !m.text.includes(fence)).filter((m) => !m.retain)).toEqual([]);
    // No status of the impostor sticks as TLS-A's retained status either (a retained one comes before the fence).
    const late = await opsSubscriber(ta.status, ta.events);
    await realA.publishAsync(ta.events, JSON.stringify({ fence: `${fence}-late` }), { qos: 1 });
    await until(() => late.heard.find((m) => m.text.includes(`${fence}-late`)), 3000, 'the fence for the late subscriber');
    expect(late.heard.filter((m) => m.text.includes(bootId))).toEqual([]);
  });

  it('refuses at connect a client without a certificate, one signed by another CA, and a revoked one (the CRL)', async () => {
    const noCert = await attempt(broker.port, { ca: readFileSync(pki.ca.cert) });
    const rogue = await attempt(broker.port, { ...certOptions(pki.rogueA) });
    const revoked = await attempt(broker.port, { ...certOptions(pki.revoked) });
    // Refused in the TLS handshake, before any MQTT: the client gets the broker's TLS alert (TLS 1.3: 116; 1.2: 40).
    const why = (o: Outcome) => (o.connected ? 'connected' : o.error);
    expect(why(noCert)).toMatch(/alert (certificate required|handshake failure)/);
    expect(why(rogue)).toMatch(/alert unknown ca/);
    expect(why(revoked)).toMatch(/alert certificate revoked/);
    expect(broker.log()).toMatch(/peer did not return a certificate/);
    // The same connection with a good certificate gets in: the refusals above are about the certificate alone.
    expect((await attempt(broker.port, { ...certOptions(pki.a) })).connected).toBe(true);
  });

  it('a TLS file that goes missing while running (e.g. mid-rotation) leaves the cabinet offline and retrying, not crashed', async () => {
    const dir = mkdtempSync(join(work, 'rotating-'));
    const cert = join(dir, `${A}.crt`);
    copyFileSync(pki.a.cert, cert);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const h = await startHarness({ mqttUrl: url, config: { cabinetId: A, mqtt: { url, tls: { ...tlsFor(pki.a), cert } } } });
    harnesses.push(h);
    const mqttState = async () => ((await h.call('GET', '/api/v1/health', undefined, null)).json as { mqtt: string }).mqtt;
    await until(async () => (await mqttState()) === 'connected', 5000, 'connected');

    rmSync(cert);
    await broker.restart(); // the cabinet reconnects, and reads its TLS files again
    await new Promise((r) => setTimeout(r, 600)); // a few reconnect attempts (harness: 50–500 ms)
    expect(await mqttState()).toBe('offline'); // (before the fix: an uncaught ENOENT from the reconnect timer)
    copyFileSync(pki.a.cert, cert);
    await until(async () => (await mqttState()) === 'connected', 5000, 'reconnected once the file is back');
  });

  it('a tls.cert file that does not exist stops start-up with an error naming the setting and the file', async () => {
    const missing = join(work, 'no-such-dir', `${A}.crt`);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const start = startHarness({ mqttUrl: url, config: { cabinetId: A, mqtt: { url, tls: { ...tlsFor(pki.a), cert: missing } } } });
    await expect(start).rejects.toThrow(`mqtt.tls.cert: cannot read ${missing}: ENOENT`);
    await expect(start).rejects.toMatchObject({ name: 'ConfigError' });
  });
});

function certOptions(cert: TestCert): IClientOptions {
  return { ca: readFileSync(pki.ca.cert), cert: readFileSync(cert.cert), key: readFileSync(cert.key) };
}
