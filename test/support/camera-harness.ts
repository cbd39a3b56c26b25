import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../controller/config/load.ts';
import type { CabinetConfigInput, CameraConfig } from '../../controller/config/schema.ts';
import type { CameraDeviceEmulator, CameraFault, CameraSimOptions } from '../../simulator/camera-device.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { ADMIN_TOKEN } from './cabinet-harness.ts';
import { startCapturedHarness, type CapturedHarness } from './captured-harness.ts';

// The cabinet harness with the camera over the doors: the simulator's camera (an HTTP snapshot URL asking for
// Digest by default) wired into the controller's `camera` config, a quick probe while it is down, and every
// log line the controller writes (at trace level) kept for "never in the logs" checks.

export interface CameraHarness extends CapturedHarness {
  /** The simulated camera (the person can pull its cable or change its login). */
  readonly camera: CameraDeviceEmulator;
  /** The login the controller was configured with. */
  readonly login: { readonly username: string; readonly password: string };
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
  const harness = await startCapturedHarness(config, sim, { cameraProbeMs: PROBE_MS });
  return Object.assign(harness, {
    camera, login,
    async still(id: string, token: string | null = ADMIN_TOKEN) {
      const r = await harness.controller.api.inject({ method: 'GET', url: `/api/v1/snapshots/${id}`, headers: token ? { authorization: `Bearer ${token}` } : {} });
      let json: unknown = null;
      try { json = r.json(); } catch { json = null; }
      return { status: r.statusCode, headers: r.headers as Record<string, unknown>, body: r.rawPayload, json };
    },
    async simPost(path: string, body: unknown) {
      const r = await fetch(`http://127.0.0.1:${sim.ports.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: await r.json() };
    },
  });
}
