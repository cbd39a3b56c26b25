import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedCabinet } from '../../simulator/fleet-cabinet.ts';
import { until } from '../support/cabinet-harness.ts';
import { killAllChildren, spawnGovlocker, type GovlockerProcess } from '../support/govlocker-process.ts';
import { freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// A simulated fleet must stop when told to, whatever its broker is doing: `govlocker simulate --fleet 200` as a
// user runs it, sent SIGTERM (systemd, docker stop, kill) or SIGINT (Ctrl-C) while it is still starting, while
// its broker is away, and while its broker hangs. Each stop must be prompt and say so on stderr.

const FLEET = '200';
const PROMPTLY_MS = 3000;
const env = { GOVLOCKER_LOG_LEVEL: 'warn' };
const brokers: Mosquitto[] = [];
const servers: Server[] = [];
const dirs: string[] = [];

afterEach(() => killAllChildren());
afterAll(async () => {
  killAllChildren();
  for (const b of brokers) await b.stop();
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function mosquitto(): Promise<Mosquitto> {
  const broker = await startMosquitto();
  brokers.push(broker);
  return broker;
}

/** A listener that accepts TCP connections and never answers: every CONNECT stays pending. */
async function silentListener(): Promise<{ port: number; open: () => number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read and drop the CONNECT, so the client's close is seen
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, open: () => sockets.size };
}

const simulateFleet = (url: string): GovlockerProcess => spawnGovlocker(['simulate', '--fleet', FLEET, '--mqtt', url, '--rate', '1'], env);

async function expectPromptStop(p: GovlockerProcess, signal: 'SIGINT' | 'SIGTERM', withinMs = PROMPTLY_MS): Promise<void> {
  const exit = await p.terminate(signal, withinMs + 2000);
  expect(exit, p.output()).toMatchObject({ code: 0, signal: null });
  expect(exit.ms, p.output()).toBeLessThan(withinMs);
  expect(p.stderr()).toContain(`govlocker simulate: ${signal}: stopping`);
}

describe.each(['SIGTERM', 'SIGINT'] as const)('govlocker simulate --fleet 200 on %s', (signal) => {
  it('stops promptly while still starting, its broker unreachable (nothing listening)', async () => {
    const p = simulateFleet(`mqtt://127.0.0.1:${await freePort()}`);
    await until(() => /cannot reach the broker/.test(p.stderr()), 10_000, 'the fleet saying the broker cannot be reached');
    await expectPromptStop(p, signal);
    expect(p.stdout()).not.toMatch(/simulated fleet/);
  });

  it('stops promptly while connects are pending, and opens no more than a batch of sockets at once', async () => {
    const listener = await silentListener();
    const p = simulateFleet(`mqtt://127.0.0.1:${listener.port}`);
    await until(() => listener.open() >= 10, 10_000, 'connects arriving');
    await new Promise((r) => setTimeout(r, 500));
    // The start connects in bounded batches: not 200 sockets at once.
    expect(listener.open()).toBeLessThanOrEqual(50);
    await expectPromptStop(p, signal);
    await until(() => listener.open() === 0, 2000, 'every socket closed');
  });

  it('stops promptly while reconnecting to a broker that went away', async () => {
    const broker = await mosquitto();
    const p = simulateFleet(broker.url);
    await until(() => /simulated fleet\s+200 cabinets/.test(p.stdout()), 15_000, 'the fleet started');
    await broker.halt();
    await until(() => /cannot reach the broker/.test(p.stderr()), 10_000, 'the fleet noticing the broker is gone');
    await new Promise((r) => setTimeout(r, 500));
    await expectPromptStop(p, signal);
  });

  it('stops promptly while its broker hangs (connected, nothing answered)', async () => {
    const broker = await mosquitto();
    const p = simulateFleet(broker.url);
    await until(() => /simulated fleet\s+200 cabinets/.test(p.stdout()), 15_000, 'the fleet started');
    broker.freeze();
    try {
      // Each cabinet waits a moment for its "offline" status to be taken, then just closes.
      await expectPromptStop(p, signal, 4000);
    } finally {
      broker.thaw();
    }
  });
});

describe('the other network commands stop on SIGTERM too', () => {
  it('govlocker fleet, its broker unreachable', async () => {
    const p = spawnGovlocker(['fleet', '--mqtt', `mqtt://127.0.0.1:${await freePort()}`, '--port', '0'], env);
    await until(() => /fleet monitor\s+http/.test(p.stdout()), 10_000, 'the monitor started');
    const exit = await p.terminate('SIGTERM', 5000);
    expect(exit).toMatchObject({ code: 0 });
    expect(exit.ms).toBeLessThan(PROMPTLY_MS);
    expect(p.stderr()).toContain('govlocker fleet: SIGTERM: stopping');
  });

  it('govlocker cmd, waiting on a broker that never answers: exits 143 (interrupted)', async () => {
    const listener = await silentListener();
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-signals-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'command.key'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const p = spawnGovlocker(['cmd', 'status', '--mqtt', `mqtt://127.0.0.1:${listener.port}`, '--cabinet', 'DEMO-01', '--key', join(dir, 'command.key')], env);
    await until(() => listener.open() > 0, 10_000, 'the command connecting');
    const exit = await p.terminate('SIGTERM', 5000);
    expect(exit, p.output()).toMatchObject({ code: 143 });
    expect(exit.ms).toBeLessThan(PROMPTLY_MS);
    expect(p.stderr()).toContain('govlocker cmd: SIGTERM: stopping');
  });
});

describe('simulated cabinets that cannot reach their broker', () => {
  it('try again at moments of their own, ever more rarely (exponential backoff with full jitter)', async () => {
    // The fleet's bounds scaled down 25×, so a few attempts fit in a second and a half.
    const backoff = { baseMs: 40, maxMs: 640, floorMs: 10 };
    const attempts = new Map<string, number[]>();
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const cabinets = Array.from({ length: 30 }, (_, i) => new SimulatedCabinet({
      mqttUrl: url, cabinetId: `BK-${String(i + 1).padStart(4, '0')}`, backoff,
      onConnectionProblem: (c) => attempts.set(c.id, [...(attempts.get(c.id) ?? []), performance.now()]),
    }));
    const started = cabinets.map((c) => c.connect().catch(() => undefined));
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all(cabinets.map((c) => c.stop()));
    await Promise.all(started);

    const gaps = [...attempts.values()].map((times) => times.slice(1).map((t, i) => t - times[i]!));
    // Every cabinet kept trying, but far fewer times than a fixed 40 ms period would (37 in 1.5 s).
    for (const g of gaps) {
      expect(g.length).toBeGreaterThanOrEqual(2);
      expect(g.length).toBeLessThan(15);
    }
    // Spread: the first retries of 30 cabinets are not one moment.
    const firstGaps = gaps.map((g) => Math.round(g[0]!));
    expect(new Set(firstGaps).size).toBeGreaterThan(10);
    // Growing: across the fleet, later retries wait longer than the first ones.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(gaps.flatMap((g) => g.slice(2, 4)))).toBeGreaterThan(mean(gaps.map((g) => g[0]!)) * 1.5);
  });
});
