import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseBody, until } from '../support/cabinet-harness.ts';
import { call, killAllChildren, runGovlocker, startCabinet, type StartedCabinet } from '../support/govlocker-process.ts';

// `govlocker start`'s embedded broker, as a user meets it: the real command, its printed logins, and mqtt.js
// clients trying what a local process could try against the cabinet (read the pickup codes, fake a status,
// take over the cabinet's session). The cabinet (DEMO-01) is followed from its first start to a restart.

const TOKEN = 'embedded-broker-test-admin-token';
const CABINET = 'DEMO-01';
const ROOT = `govlocker/v1/${CABINET}`;

let dataDir: string;
let cabinet: StartedCabinet;
let logins: { broker: string; ops: string; fleetMonitor: string; sms: string; hall: string; file: string };
const clients: MqttClient[] = [];

function printedLogins(text: string) {
  const m = (re: RegExp) => re.exec(text)?.[1];
  return {
    broker: m(/^\s*MQTT\s+(mqtt:\/\/\S+) \(embedded broker/m)!,
    ops: m(/^\s*MQTT ops\s+(mqtt:\/\/\S+)/m)!,
    fleetMonitor: m(/^\s*MQTT fleet monitor\s+(mqtt:\/\/\S+)/m)!,
    sms: m(/^\s*MQTT SMS gateway\s+(mqtt:\/\/\S+)/m)!,
    hall: m(/^\s*MQTT hall system\s+(mqtt:\/\/\S+)/m)!,
    file: m(/^\s*MQTT accounts\s+(\S+)/m)!,
  };
}

const withCredentials = (url: string, username: string, password: string) => {
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password);
  return u.href;
};

async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000, ...options });
  clients.push(client);
  return client;
}

/** The broker's CONNACK return code for a refused connect (4 bad user name or password, 5 not authorized, 2 identifier rejected). */
async function refusedWith(url: string, options: IClientOptions = {}): Promise<number | string> {
  const outcome = await connect(url, options).then(() => 'accepted', (error: Error & { code?: number }) => error.code ?? error.message);
  return outcome;
}

/** The QoS the broker granted each filter: 128 is a refusal (mqtt.js then rejects, the SUBACK still in the error). */
async function granted(client: MqttClient, topics: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(topics, { qos: 1 })).map((g) => g.qos);
  } catch (error) {
    const codes = (error as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted;
    if (!codes) throw error;
    return codes.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

/** Every message a client receives, for later checks. */
function collect(client: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return seen;
}

/** A publish the broker refuses: it closes the publisher's connection (MQTT 3.1.1 has no negative PUBACK). */
async function refusedPublish(url: string, topic: string, payload: string, retain = false): Promise<void> {
  const client = await connect(url);
  let closed = false;
  client.once('close', () => { closed = true; });
  client.publish(topic, payload, { qos: 1, retain });
  await until(() => closed, 3000, `the broker closing the connection that published ${topic}`);
  client.end(true);
}

const mqttHealth = async () => (await call(`${cabinet.banner.api}/health`)).json?.mqtt as string | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'govlocker-embedded-broker-'));
  cabinet = await startCabinet({ GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_ADMIN_TOKEN: TOKEN });
  logins = printedLogins(cabinet.stdout());
  await until(async () => (await mqttHealth()) === 'connected', 5000, 'the cabinet connected to its embedded broker');
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded broker of govlocker start', () => {
  it('prints the ops, fleet-monitor, SMS-gateway and hall-system logins and where they are kept (0600); never the cabinet\'s password', () => {
    expect(logins.broker).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const port = new URL(logins.broker).port;
    for (const [url, account] of [[logins.ops, 'ops.central'], [logins.fleetMonitor, 'ops.fleet-monitor'], [logins.sms, 'ops.sms-gateway'], [logins.hall, 'hall.case-system']] as const) {
      const u = new URL(url);
      expect(decodeURIComponent(u.username)).toBe(account);
      expect(decodeURIComponent(u.password)).toMatch(/^\S{20,}$/);
      expect(u.port).toBe(port);
    }
    expect(logins.file).toBe(join(dataDir, 'mqtt-accounts.json'));
    expect(statSync(logins.file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(logins.file, 'utf8')) as { accounts: Record<string, string> };
    expect(Object.keys(stored.accounts).sort()).toEqual([CABINET, 'hall.case-system', 'ops.central', 'ops.fleet-monitor', 'ops.sms-gateway']);
    expect(decodeURIComponent(new URL(logins.ops).password)).toBe(stored.accounts['ops.central']);
    expect(cabinet.output()).not.toContain(stored.accounts[CABINET]!);
  });

  it('refuses anonymous clients, a wrong password and an unknown account', async () => {
    const ops = new URL(logins.ops);
    expect(await refusedWith(logins.broker)).toBe(5);
    expect(await refusedWith(withCredentials(logins.broker, 'ops.central', 'not-the-password-at-all'))).toBe(4);
    expect(await refusedWith(withCredentials(logins.broker, 'ops.root', decodeURIComponent(ops.password)))).toBe(4);
    // Another account's password is not this one's.
    expect(await refusedWith(withCredentials(logins.broker, 'ops.sms-gateway', decodeURIComponent(ops.password)))).toBe(4);
  });

  it('lets nobody but the cabinet use its client id: its session, last will and connection stay its own', async () => {
    const ops = await connect(logins.ops);
    const statuses = collect(ops);
    await ops.subscribeAsync(`${ROOT}/status`, { qos: 1 });
    await until(() => statuses.length > 0, 3000, 'the retained status');
    expect(JSON.parse(statuses[0]!.payload)).toMatchObject({ online: true });

    for (const clientId of [`govlocker-${CABINET}`, CABINET]) {
      expect(await refusedWith(logins.ops, { clientId })).toBe(2);
      expect(await refusedWith(logins.sms, { clientId, will: { topic: `${ROOT}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true } })).toBe(2);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await mqttHealth()).toBe('connected');
    // Neither a last will nor a takeover said "offline".
    expect(statuses.map((s) => JSON.parse(s.payload).online)).not.toContain(false);
  });

  it('reports end to end: ops read status and events but never notify, the SMS gateway reads notify only, and a signed command through the ops login gets its reply', async () => {
    const ops = await connect(logins.ops);
    const opsSeen = collect(ops);
    // A wide subscription is granted, and filtered message by message.
    expect(await granted(ops, ['govlocker/v1/#'])).toEqual([1]);
    const sms = await connect(logins.sms);
    const smsSeen = collect(sms);
    expect(await granted(sms, ['govlocker/v1/+/notify', `${ROOT}/status`, `${ROOT}/events`])).toEqual([1, 128, 128]);
    const monitor = await connect(logins.fleetMonitor);
    const monitorSeen = collect(monitor);
    expect(await granted(monitor, [`${ROOT}/notify`])).toEqual([128]);
    await monitor.subscribeAsync(`govlocker/v1/+/events`, { qos: 1 });

    // A case is loaded: its events go to ops and the monitor, its pickup code to the SMS gateway alone.
    const api = cabinet.banner.api;
    expect((await call(`${api}/cases`, { token: TOKEN, body: caseBody('EB-CASE-1', [{ type: 'seal', barcode: 'EB-SEAL-1' }]) })).status).toBe(201);
    const load = await call(`${api}/loads`, { token: TOKEN, body: { barcode: 'EB-SEAL-1' } });
    expect(load.status, load.text).toBe(202);
    const compartment: string = load.json.compartment;
    await until(async () => (await call(`${cabinet.banner.simulator}/sim/state`)).json.doors[compartment].open, 5000, `door ${compartment} open`);
    expect((await call(`${cabinet.banner.simulator}/sim/doors/${compartment}/close`, { body: { occupied: true } })).status).toBe(200);

    const notify = await until(() => smsSeen.find((m) => m.topic === `${ROOT}/notify`), 5000, 'the pickup code at the SMS gateway');
    expect(JSON.parse(notify.payload)).toMatchObject({ caseNo: 'EB-CASE-1', phone: '13800138000', code: expect.stringMatching(/^\d{8}$/) });
    const types = () => opsSeen.filter((m) => m.topic === `${ROOT}/events`).map((m) => JSON.parse(m.payload).type as string);
    await until(() => types().includes('case.ready'), 5000, 'case.ready at ops');
    expect(types()).toEqual(expect.arrayContaining(['case.created', 'item.loaded', 'case.ready']));
    await until(() => monitorSeen.some((m) => m.payload.includes('case.ready')), 3000, 'case.ready at the fleet monitor');

    // The README's way to send a command to the demo: the printed ops login and the cabinet's key.
    const cmd = await runGovlocker(['cmd', 'status', '--mqtt', logins.ops, '--cabinet', CABINET, '--key', join(dataDir, 'command.key')]);
    expect(cmd.code, cmd.stderr).toBe(0);
    expect(JSON.parse(cmd.stdout)).toMatchObject({ ok: true });
    await until(() => opsSeen.some((m) => m.topic === `${ROOT}/reply`), 3000, 'the reply at ops');

    expect(opsSeen.map((m) => m.topic)).not.toContain(`${ROOT}/notify`);
    expect(opsSeen.map((m) => m.payload).join('\n')).not.toContain('13800138000');
    expect(monitorSeen.map((m) => m.topic)).not.toContain(`${ROOT}/notify`);
    expect(smsSeen.map((m) => m.topic)).toEqual([`${ROOT}/notify`]);
  });

  it('refuses a status, an event or a command from a login without that right; no fake retained status sticks', async () => {
    const ops = await connect(logins.ops);
    const seen = collect(ops);
    await ops.subscribeAsync([`${ROOT}/status`, `${ROOT}/events`], { qos: 1 });
    const real = JSON.parse((await until(() => seen.find((m) => m.topic === `${ROOT}/status`), 3000, 'the retained status')).payload) as { bootId: string };

    const fake = { online: false, bootId: 'fake-boot' };
    await refusedPublish(logins.sms, `${ROOT}/status`, JSON.stringify(fake), true);
    await refusedPublish(logins.ops, `${ROOT}/status`, JSON.stringify(fake), true);
    await refusedPublish(logins.fleetMonitor, `${ROOT}/events`, JSON.stringify({ seq: 999_999, bootId: 'fake-boot', type: 'door.opened' }));
    await refusedPublish(logins.fleetMonitor, `${ROOT}/cmd/open`, '{}');
    await refusedPublish(logins.sms, `${ROOT}/notify`, '{"phone":"13900000000"}');
    // A retained command (or event) would reach every later subscriber: only a status may be retained.
    await refusedPublish(logins.ops, `${ROOT}/cmd/status`, '{}', true);

    // Fence: a real event published after the fakes arrives, and nothing fake came before it.
    expect((await call(`${cabinet.banner.api}/compartments/C08/disable`, { token: TOKEN, body: { reason: 'fence' } })).status).toBe(200);
    await until(() => seen.some((m) => m.payload.includes('compartment.disabled')), 3000, 'the fence event');
    expect(seen.map((m) => m.payload).join('\n')).not.toContain('fake-boot');
    const later = await connect(logins.ops);
    const retained = collect(later);
    await later.subscribeAsync(`${ROOT}/status`, { qos: 1 });
    const status = await until(() => retained[0], 3000, 'the retained status');
    expect(JSON.parse(status.payload)).toMatchObject({ online: true, bootId: real.bootId });
  });

  it('keeps every login across a restart on the same data dir', async () => {
    const stopped = await cabinet.interrupt(5000);
    expect(stopped.code).toBe(0);
    const before = readFileSync(logins.file, 'utf8');
    const again = await startCabinet({ GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_ADMIN_TOKEN: TOKEN });
    try {
      cabinet = again;
      const after = printedLogins(again.stdout());
      const password = (url: string) => new URL(url).password;
      expect(password(after.ops)).toBe(password(logins.ops));
      expect(password(after.sms)).toBe(password(logins.sms));
      expect(password(after.fleetMonitor)).toBe(password(logins.fleetMonitor));
      expect(readFileSync(logins.file, 'utf8')).toBe(before);
      expect(statSync(logins.file).mode & 0o777).toBe(0o600);
      await until(async () => (await mqttHealth()) === 'connected', 5000, 'the cabinet connected again');
      const ops = await connect(after.ops);
      const seen = collect(ops);
      await ops.subscribeAsync(`${ROOT}/status`, { qos: 1 });
      await until(() => seen.some((m) => JSON.parse(m.payload).online === true), 3000, 'the status after the restart');
    } finally {
      expect((await again.interrupt(5000)).code).toBe(0);
    }
  });
});
