import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetMonitor, type RunningFleetMonitor } from '../../admin-api/fleet/monitor.ts';
import type { CabinetView, FleetSummary } from '../../admin-api/fleet/fleet-state.ts';
import { accountUrl } from '../../bin/broker-accounts.ts';
import { FLEET_MONITOR_ACCOUNT } from '../../bin/broker-acl.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../bin/embedded-broker.ts';
import { createLogger } from '../../controller/logging.ts';
import { verifyCommand } from '../../controller/mqtt/command-auth.ts';
import { RefusalSummaries, type RefusalSummary } from '../../controller/events/refusal-summaries.ts';
import { runFleet, type RunningFleet } from '../../simulator/fleet.ts';
import { until } from '../support/cabinet-harness.ts';
import { killAllChildren, runGovlocker, spawnGovlocker } from '../support/govlocker-process.ts';
import { openSseStream } from '../support/sse-reader.ts';

// The fleet monitor as central ops run it: a real broker (the embedded Aedes, on a free port, with its accounts
// and ACL), simulated cabinets that speak the contract's MQTT, each logging in as its id, and the monitor's HTTP
// API and page over real HTTP, logging in as the fleet monitor.

const logger = createLogger({ level: 'silent' });
const CABINET_PASSWORD = randomBytes(18).toString('base64url');
const MONITOR_PASSWORD = randomBytes(18).toString('base64url');
const ACCOUNTS = new Map([
  ...['IT-0001', 'IT-0002', 'IT-0003', 'CLI-0001', 'CLI-0002'].map((id) => [id, CABINET_PASSWORD] as const),
  [FLEET_MONITOR_ACCOUNT, MONITOR_PASSWORD] as const,
]);
/** A client standing in for cabinet `id`: its own login. */
const asCabinet = (id: string, clientId: string) => mqtt.connectAsync(broker.url, { clientId, protocolVersion: 4, username: id, password: CABINET_PASSWORD });
let broker: EmbeddedBroker;
let monitorUrl: string;
let monitor: RunningFleetMonitor;
let fleet: RunningFleet;
const dirs: string[] = [];

const api = async <T>(path: string, init?: RequestInit): Promise<{ status: number; json: T }> => {
  const r = await fetch(new URL(path, monitor.url), init);
  return { status: r.status, json: (await r.json()) as T };
};
const cabinets = async () => (await api<{ summary: FleetSummary; canReplay: boolean; cabinets: CabinetView[] }>('/api/cabinets')).json;
const cabinet = async (id: string) => (await cabinets()).cabinets.find((c) => c.id === id);
const postJson = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/**
 * A second monitor holding `cabinetId`'s command key, and a client standing in for that cabinet's command
 * handler, subscribed to `…/cmd/{command}`; `received` is the first command it gets.
 */
async function withKeyedMonitor(cabinetId: string, command: string, test: (o: { keyed: RunningFleetMonitor; key: Buffer; cabinetSide: mqtt.MqttClient; received: Promise<Buffer> }) => Promise<void>): Promise<void> {
  const keys = mkdtempSync(join(tmpdir(), 'govlocker-fleet-keys-'));
  dirs.push(keys);
  const key = randomBytes(32);
  writeFileSync(join(keys, `${cabinetId}.key`), key.toString('hex') + '\n', { mode: 0o600 });
  const keyed = await startFleetMonitor({ mqttUrl: monitorUrl, port: 0, logger, keysDir: keys });
  const cabinetSide = await asCabinet(cabinetId, `${cabinetId.toLowerCase()}-${command}`);
  try {
    await keyed.ready();
    await until(() => keyed.state.get(cabinetId)?.online, 3000, `the keyed monitor sees ${cabinetId}`);
    const received = new Promise<Buffer>((resolve) => cabinetSide.on('message', (_topic, payload) => resolve(payload)));
    await cabinetSide.subscribeAsync(`govlocker/v1/${cabinetId}/cmd/${command}`, { qos: 1 });
    await test({ keyed, key, cabinetSide, received });
  } finally {
    await cabinetSide.endAsync();
    await keyed.stop();
  }
}

beforeAll(async () => {
  broker = await startEmbeddedBroker({ port: 0, accounts: ACCOUNTS });
  monitorUrl = accountUrl(broker.url, FLEET_MONITOR_ACCOUNT, MONITOR_PASSWORD);
  monitor = await startFleetMonitor({ mqttUrl: monitorUrl, port: 0, logger });
  await monitor.ready();
  fleet = await runFleet({ mqttUrl: broker.url, count: 3, prefix: 'IT', eventsPerSecond: 0, cabinetPassword: () => CABINET_PASSWORD });
});

afterAll(async () => {
  killAllChildren();
  await fleet?.stop();
  await monitor?.stop();
  await broker?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the fleet monitor', () => {
  it('shows three simulated cabinets online with their compartment counts', async () => {
    const seen = await until(async () => {
      const c = await cabinets();
      return c.cabinets.filter((x) => x.online).length === 3 ? c : null;
    }, 5000, 'three cabinets online');
    expect(seen.cabinets.map((c) => c.id)).toEqual(['IT-0001', 'IT-0002', 'IT-0003']);
    expect(seen.cabinets[0]).toMatchObject({ online: true, compartments: { total: 24, empty: 20, loaded: 3, fault: 0, disabled: 1 }, hardware: 'ok', outbox: 0, bootId: fleet.cabinets[0]!.bootId });
    expect(seen.summary).toMatchObject({ broker: 'connected', cabinets: 3, online: 3, offline: 0 });
    expect(seen.canReplay).toBe(false);
  });

  it('reports the gap when a cabinet skips a seq, and the last event', async () => {
    const sim = fleet.cabinet('IT-0002')!;
    await sim.publishEvent('door.opened');
    await sim.publishEvent('door.closed');
    sim.skipSeq(1);
    await sim.publishEvent('item.loaded');
    const view = await until(async () => {
      const c = await cabinet('IT-0002');
      return c?.lastEvent?.seq === 4 ? c : null;
    }, 3000, 'seq 4 at the monitor');
    expect(view).toMatchObject({ gaps: [[3, 3]], missing: 1, lastEvent: { type: 'item.loaded', seq: 4 } });
    expect((await cabinets()).summary).toMatchObject({ withGaps: 1, missing: 1 });
  });

  it('sends a stream frame after a change, and keeps an alarm until it is acknowledged on the page', async () => {
    const stream = await openSseStream(new URL('/api/stream', monitor.url).href);
    try {
      expect(stream.status).toBe(200);
      await stream.next((f) => f.event === 'snapshot', 3000, 'the snapshot');
      const sim = fleet.cabinet('IT-0001')!;
      const forced = await sim.publishEvent('door.forced', { compartment: 'A03' });
      const frame = await stream.next((f) => f.event === 'changes' && (JSON.parse(f.data) as { cabinets: CabinetView[] }).cabinets.some((c) => c.id === 'IT-0001' && c.alarms.length > 0), 3000, 'a frame with the alarm');
      const shown = (JSON.parse(frame.data) as { cabinets: CabinetView[] }).cabinets.find((c) => c.id === 'IT-0001')!;
      expect(shown.alarms).toEqual([expect.objectContaining({ seq: forced.seq, type: 'door.forced', data: { compartment: 'A03' } })]);

      // Another site open in ops' browser cannot acknowledge it.
      const crossSite = await api('/api/alarms/IT-0001/' + forced.seq + '/ack', postJson({}, { origin: 'https://evil.example' }));
      expect(crossSite.status).toBe(403);
      const ack = await api<{ ok: boolean; atCabinet: unknown; cabinet: CabinetView }>(`/api/alarms/IT-0001/${forced.seq}/ack`, postJson({}));
      expect(ack.status).toBe(200);
      expect(ack.json.cabinet.alarms).toEqual([]);
      // Without the cabinet's key (and without the cabinet's alarm id) it stays a note on this page, and says so.
      expect(ack.json.atCabinet).toMatchObject({ sent: false, why: expect.stringMatching(/on this page only/) });
      expect((await api(`/api/alarms/IT-0001/${forced.seq}/ack`, postJson({}))).status).toBe(404);
    } finally {
      stream.close();
    }
  });

  it('serves the live page', async () => {
    const r = await fetch(monitor.url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await r.text();
    expect(html).toContain('Fleet monitor');
    expect(html).toContain('/api/stream');
  });

  it('shows a span of refused commands as one alarm that says how many', async () => {
    // The summary exactly as a cabinet writes it after a flood of badly signed commands.
    const written: RefusalSummary[] = [];
    const summaries = new RefusalSummaries({ write: (s) => written.push(s), now: Date.now, onWriteError: (e) => { throw e; } });
    const error = 'malformed: issuedAt: an ISO 8601 time, e.g. "2026-11-23T10:00:00Z"; expiresAt: an ISO 8601 time, e.g. "2026-11-23T10:00:00Z"; cmd: required: the command\'s name, signed with it; must equal the topic\'s name; sig: sig is the hex HMAC-SHA256 of the canonical JSON without sig';
    for (let i = 0; i < 2000; i++) summaries.refuse({ name: 'open', error, requestId: `flood-${String(i).padStart(6, '0')}` });
    summaries.stop();
    expect(written.map((w) => w.count)).toEqual([1, 1999]);
    const refused = await fleet.cabinet('IT-0001')!.publishEvent('cmd.refused', { ...written[1]! });
    const view = await until(async () => {
      const c = await cabinet('IT-0001');
      return c?.alarms.some((a) => a.seq === refused.seq) ? c : null;
    }, 3000, 'the refused commands as an alarm');
    expect(view.alarms.find((a) => a.seq === refused.seq)).toMatchObject({ type: 'cmd.refused', data: { count: 1999, sample: { name: 'open', error, requestId: 'flood-000001' } } });
    const ack = await api<{ cabinet: CabinetView }>(`/api/alarms/IT-0001/${refused.seq}/ack`, postJson({}));
    expect(ack.status).toBe(200);
  });

  it('refuses a replay with 409 and says why when it holds no command keys', async () => {
    const r = await api<{ error: string }>('/api/cabinets/IT-0002/replay', postJson({ fromSeq: 3 }));
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/--keys DIR/);
    expect((await api('/api/cabinets/NOPE-1/replay', postJson({ fromSeq: 3 }))).status).toBe(404);
    expect((await api('/api/cabinets/IT-0002/replay', postJson({ fromSeq: 0 }))).status).toBe(400);
  });

  it('marks a cabinet offline through its last will when it dies uncleanly', async () => {
    fleet.cabinet('IT-0003')!.crash();
    const view = await until(async () => {
      const c = await cabinet('IT-0003');
      return c?.online === false ? c : null;
    }, 5000, 'IT-0003 offline');
    expect(view.bootId).toBe(fleet.cabinet('IT-0003')!.bootId);
    expect((await cabinets()).summary).toMatchObject({ online: 2, offline: 1 });
  });

  it('with the cabinet\'s key, a replay request is a signed replay command, and the cabinet\'s answer shows', async () => {
    await withKeyedMonitor('IT-0002', 'replay', async ({ keyed, key, cabinetSide, received }) => {
      const r = await fetch(new URL('/api/cabinets/IT-0002/replay', keyed.url), postJson({ fromSeq: 3 }));
      expect(r.status).toBe(202);
      const { requestId } = (await r.json()) as { requestId: string };
      const verdict = verifyCommand(key, 'replay', await received, Date.now());
      expect(verdict).toMatchObject({ ok: true, command: { requestId, cmd: 'replay', args: { fromSeq: 3 } } });

      await cabinetSide.publishAsync('govlocker/v1/IT-0002/reply', JSON.stringify({ requestId, ok: true, result: { fromSeq: 3, firstKept: 3, lastSeq: 4 } }), { qos: 1 });
      const replay = await until(() => (keyed.state.get('IT-0002')?.replay?.outcome === 'done' ? keyed.state.get('IT-0002')!.replay : null), 3000, 'the reply');
      expect(replay.detail).toBe('sending seq 3–4 again');
      // The cabinet sends seq 3 and 4 again: at the first monitor (which saw the gap) 3 closes it and 4 is a repeat.
      const sim = fleet.cabinet('IT-0002')!;
      const client = await asCabinet('IT-0002', 'it-0002-replay');
      for (const seq of [3, 4]) await client.publishAsync(sim.topics.events, JSON.stringify({ seq, bootId: sim.bootId, id: `r-${seq}`, ts: new Date().toISOString(), type: 'door.opened', data: {} }), { qos: 1 });
      await client.endAsync();
      const filled = await until(() => (monitor.state.get('IT-0002')?.duplicates === 1 ? monitor.state.get('IT-0002') : null), 3000, 'the replayed events');
      expect(filled).toMatchObject({ gaps: [], missing: 0, lastEvent: { seq: 4 } });
    });
  });

  it('with the cabinet\'s key, acknowledging an alarm on the page sends the cabinet a signed ack for its own alarm id', async () => {
    await withKeyedMonitor('IT-0002', 'ack', async ({ keyed, key, received }) => {
      const forced = await fleet.cabinet('IT-0002')!.publishEvent('sensor.faulty', { compartment: 'B02', kind: 'chatter', alarmId: 41 });
      await until(() => keyed.state.get('IT-0002')?.alarms.some((a) => a.seq === forced.seq), 3000, 'the alarm on the keyed monitor');

      const r = await fetch(new URL(`/api/alarms/IT-0002/${forced.seq}/ack`, keyed.url), postJson({ note: 'wire re-seated' }));
      expect(r.status).toBe(200);
      const body = (await r.json()) as { atCabinet: { sent: boolean; requestId: string; alarmId: number } };
      expect(body.atCabinet).toMatchObject({ sent: true, alarmId: 41 });
      const verdict = verifyCommand(key, 'ack', await received, Date.now());
      expect(verdict).toMatchObject({ ok: true, command: { requestId: body.atCabinet.requestId, cmd: 'ack', args: { alarmId: 41, note: 'wire re-seated' } } });
    });
  });
});

describe('govlocker fleet and govlocker simulate --fleet', () => {
  it('the monitor prints its URL and shows a fleet simulated from the command line; Ctrl-C stops both, the fleet saying offline', async () => {
    const env = { GOVLOCKER_LOG_LEVEL: 'warn' };
    const monitorProcess = spawnGovlocker(['fleet', '--mqtt', monitorUrl, '--port', '0'], env);
    const simProcess = spawnGovlocker(['simulate', '--fleet', '2', '--mqtt', broker.url, '--rate', '5', '--prefix', 'CLI', '--cabinet-password', CABINET_PASSWORD], env);
    const url = await until(() => /fleet monitor\s+(http:\/\/\S+)/.exec(monitorProcess.stdout())?.[1], 10_000, 'the printed URL');
    const list = async () => ((await (await fetch(new URL('/api/cabinets', url))).json()) as { cabinets: CabinetView[] }).cabinets.filter((c) => c.id.startsWith('CLI-'));
    const shown = await until(async () => {
      const c = await list();
      return c.length === 2 && c.every((x) => x.online && (x.lastEvent?.seq ?? 0) >= 2) ? c : null;
    }, 10_000, 'two CLI cabinets online with events');
    expect(shown.map((c) => c.id)).toEqual(['CLI-0001', 'CLI-0002']);
    expect(simProcess.stdout()).toMatch(/simulated fleet\s+2 cabinets \(CLI-0001 … CLI-0002\)/);
    expect((await simProcess.interrupt()).code).toBe(0);
    await until(async () => (await list()).every((c) => c.online === false), 3000, 'the CLI cabinets offline');
    expect((await monitorProcess.interrupt()).code).toBe(0);
  });

  it('simulate --fleet without a broker says what it needs', async () => {
    const r = await runGovlocker(['simulate', '--fleet', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--mqtt URL/);
  });
});
