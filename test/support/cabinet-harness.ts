import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateWatchTiming } from '../../bin/api-listeners.ts';
import { startController, type RunningController } from '../../bin/run.ts';
import { parseConfig } from '../../controller/config/load.ts';
import type { CabinetConfigInput } from '../../controller/config/schema.ts';
import type { Clock } from '../../controller/store/store.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/simulator.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A clock the test moves: real time plus an offset. */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface Harness {
  readonly sim: RunningSimulator;
  readonly controller: RunningController;
  readonly dataDir: string;
  readonly clock: TestClock;
  /** Calls the admin API in-process (fastify.inject); bearer defaults to the admin token. */
  call(method: string, url: string, body?: unknown, token?: string | null): Promise<{ status: number; json: any }>;
  /** Stops the controller only (the simulator keeps its doors), as a crash or restart would. */
  stopController(): Promise<void>;
  /** Starts a new controller on the same data dir and simulator. */
  restartController(): Promise<RunningController>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly config?: Partial<CabinetConfigInput>;
  readonly dataDir?: string;
  /** Reports to central ops on this broker (fast reconnects for tests); absent: no MQTT, as before. */
  readonly mqttUrl?: string;
  /**
   * The cabinet on emulated RS-485 lock boards of this protocol (the demo cabinet's lock-board wiring), polled by
   * the controller's lock-board driver over TCP, instead of the Firmata board. A polled bus never sees a door
   * opened and shut within one poll: wait until the controller has seen a door open before closing it.
   */
  readonly lockboard?: '8a80' | 'kerong-cu';
  /** With `api.tls`: how quickly a renewed certificate is noticed (the default polls every 5 s). */
  readonly certificateWatch?: CertificateWatchTiming;
}

/** The real thing on loopback: simulator over Firmata/TCP and the scanner line, controller with a real SQLite file. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'govlocker-test-'));
  const ownsDir = !options.dataDir;
  const protocol = options.lockboard;
  const onBus = protocol ? { hardware: { driver: 'lockboard', bus: { protocol, transport: { kind: 'tcp', port: 0 } } } } as const : {};
  const base = parseConfig({ ...options.config, ...onBus, dataDir, api: { host: '127.0.0.1', port: 0 } }, {});
  const sim = await startSimulator({
    compartments: base.compartments, controlPort: 0, firmataPort: 0, scannerPort: 0,
    ...(protocol ? { lockboard: { protocol, port: 0, settings: { pulseMs: 100 } } } : {}),
  });
  const hardware = protocol
    ? { driver: 'lockboard', openTimeoutMs: 1500, readyTimeoutMs: 5000, bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.lockboard! } } } as const
    : { driver: 'firmata', pulseMs: 40, debounceMs: 5, openTimeoutMs: 800, readyTimeoutMs: 5000, ...options.config?.hardware, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } } as const;
  const config = parseConfig({
    ...options.config,
    dataDir,
    api: { ...options.config?.api, host: '127.0.0.1', port: 0 },
    hardware,
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
    ...(options.mqttUrl ? { mqtt: { reconnect: { minMs: 50, maxMs: 500 }, ...options.config?.mqtt, url: options.mqttUrl } } : {}),
  }, {});
  const clock = new TestClock();
  let controller = await startController(config, { adminToken: ADMIN_TOKEN, logLevel: process.env.GOVLOCKER_TEST_LOG ?? 'silent', clock, certificateWatch: options.certificateWatch });
  let running = true;
  const harness: Harness = {
    sim, dataDir, clock,
    get controller() {
      return controller;
    },
    call: (method, url, body, token = ADMIN_TOKEN) => callApi(controller, method, url, body, token),
    async stopController() {
      if (running) await controller.stop();
      running = false;
    },
    async restartController() {
      if (running) await controller.stop();
      controller = await startController(config, { adminToken: ADMIN_TOKEN, logLevel: process.env.GOVLOCKER_TEST_LOG ?? 'silent', clock, certificateWatch: options.certificateWatch });
      running = true;
      return controller;
    },
    async stop() {
      if (running) await controller.stop();
      running = false;
      await sim.stop();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/**
 * Calls the controller's admin API in-process (fastify.inject) with a bearer token (`null`: none); a JSON body
 * is sent as such, a string as it is. The answer's JSON, or its text when it is not JSON.
 */
export async function callApi(controller: RunningController, method: string, url: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; json: any }> {
  const r = await controller.api.inject({
    method: method as 'GET', url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  let json: unknown = null;
  try { json = r.json(); } catch { json = r.body; }
  return { status: r.statusCode, json };
}

/** Polls until `check` returns a truthy value (or throws after `ms`). */
export async function until<T>(check: () => T | Promise<T>, ms = 3000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A valid case body (identifiers pass their check digits). */
export function caseBody(caseNo: string, items: { type: string; barcode: string; label?: string }[]) {
  return {
    caseNo,
    enterprise: { name: '广州市白云某某科技有限公司', uscc: '91440101MA5CXY7A25' },
    applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' },
    items,
  };
}
export const ID_SUFFIX = '011235';
