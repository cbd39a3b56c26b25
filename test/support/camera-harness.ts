import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApiListeners } from '../../bin/api-listeners.ts';
import type { RunningController } from '../../bin/run.ts';
import { Cabinet } from '../../controller/cabinet.ts';
import { parseConfig } from '../../controller/config/load.ts';
import type { CabinetConfig, CabinetConfigInput, CameraConfig } from '../../controller/config/schema.ts';
import { createLogger } from '../../controller/logging.ts';
import type { CameraDeviceEmulator, CameraFault, CameraSimOptions } from '../../simulator/camera-device.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { ADMIN_TOKEN, TestClock, type Harness } from './cabinet-harness.ts';

// The cabinet harness with the camera over the doors: the simulator's camera (an HTTP snapshot URL asking for
// Digest by default) wired into the controller's `camera` config, a quick probe while it is down, and every
// log line the controller writes (at trace level) kept for "never in the logs" checks.

export interface CameraHarness extends Harness {
  /** The simulated camera (the person can pull its cable or change its login). */
  readonly camera: CameraDeviceEmulator;
  /** The login the controller was configured with. */
  readonly login: { readonly username: string; readonly password: string };
  /** Every log line the controller and its API wrote so far, as written. */
  logs(): string;
  /** GET a still as raw bytes, with a bearer token (null: none). */
  still(id: string, token?: string | null): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; json: any }>;
  /** The person in front of the cabinet, through the simulator's control API over HTTP. */
  simPost(path: string, body: unknown): Promise<{ status: number; json: any }>;
}

export interface CameraHarnessOptions {
  /** Camera config beyond the URL and login (e.g. `required`). */
  readonly camera?: Partial<CameraConfig>;
  /** The simulated camera's login and mode (default: Digest, the controller's login). */
  readonly device?: CameraSimOptions;
  /** The camera's fault before the controller starts. */
  readonly faultAtStart?: CameraFault;
  readonly config?: Partial<CabinetConfigInput>;
}

/** A probe this quick keeps the tests short; the cabinet's own is 30 s. */
const PROBE_MS = 150;

export async function startCameraHarness(options: CameraHarnessOptions = {}): Promise<CameraHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-camera-'));
  const base = parseConfig({ ...options.config, dataDir, api: { host: '127.0.0.1', port: 0 } }, {});
  const login = { username: 'hall-camera', password: 'Cam-pass-7f3a9c1e' };
  const sim = await startSimulator({ compartments: base.compartments, controlPort: 0, firmataPort: 0, scannerPort: 0, camera: { auth: 'digest', ...login, ...options.device } });
  const camera = sim.camera!;
  if (options.faultAtStart) camera.setFault(options.faultAtStart);
  const config = parseConfig({
    ...options.config,
    dataDir,
    api: { host: '127.0.0.1', port: 0 },
    hardware: { driver: 'firmata', pulseMs: 40, debounceMs: 5, openTimeoutMs: 800, readyTimeoutMs: 5000, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } },
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
    camera: { snapshotUrl: camera.url, ...login, timeoutMs: 1000, ...options.camera },
  }, {});
  const clock = new TestClock();
  const lines: string[] = [];
  const echo = process.env.GOVLOCKER_TEST_LOG;
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => { lines.push(line); if (echo) process.stdout.write(line); } },
  });
  let controller = await startCaptured(config, clock, logger);
  let running = true;
  const inject = async (method: string, url: string, body: unknown, token: string | null) => controller.api.inject({
    method: method as 'GET', url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const harness: CameraHarness = {
    sim, dataDir, clock, camera, login,
    get controller() {
      return controller;
    },
    logs: () => lines.join(''),
    async call(method, url, body, token = ADMIN_TOKEN) {
      const r = await inject(method, url, body, token);
      let json: unknown = null;
      try { json = r.json(); } catch { json = r.body; }
      return { status: r.statusCode, json };
    },
    async still(id, token = ADMIN_TOKEN) {
      const r = await inject('GET', `/api/v1/snapshots/${id}`, undefined, token);
      let json: unknown = null;
      try { json = r.json(); } catch { json = null; }
      return { status: r.statusCode, headers: r.headers, body: r.rawPayload, json };
    },
    async simPost(path, body) {
      const r = await fetch(`http://127.0.0.1:${sim.ports.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: await r.json() };
    },
    async stopController() {
      if (running) await controller.stop();
      running = false;
    },
    async restartController() {
      if (running) await controller.stop();
      controller = await startCaptured(config, clock, logger);
      running = true;
      return controller;
    },
    async stop() {
      if (running) await controller.stop();
      running = false;
      await sim.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** As `startController`, with the test's logger and a quick probe. */
async function startCaptured(config: CabinetConfig, clock: TestClock, logger: ReturnType<typeof createLogger>): Promise<RunningController> {
  const cabinet = new Cabinet(config, { logger, clock, adminToken: ADMIN_TOKEN, cameraProbeMs: PROBE_MS });
  await cabinet.start();
  const listeners = await openApiListeners(cabinet, null, logger.child({ part: 'api' }));
  return {
    cabinet, listeners, api: listeners.api, apiPort: listeners.apiPort,
    async stop() {
      await listeners.close();
      await cabinet.stop();
    },
  };
}
