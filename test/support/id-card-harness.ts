import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApiListeners } from '../../bin/api-listeners.ts';
import type { RunningController } from '../../bin/run.ts';
import { Cabinet } from '../../controller/cabinet.ts';
import { parseConfig } from '../../controller/config/load.ts';
import type { CabinetConfig, CabinetConfigInput } from '../../controller/config/schema.ts';
import { createLogger } from '../../controller/logging.ts';
import type { IdCardDeviceEmulator } from '../../simulator/idcard-device.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { ADMIN_TOKEN, TestClock, type Harness } from './cabinet-harness.ts';

// The cabinet harness with an ID-card reader: the simulator's reader over TCP, wired into the controller's
// config, and every log line the controller writes (at trace level) kept for "never in the logs" checks.

export interface IdCardHarness extends Harness {
  /** The simulated reader (the person puts cards on it). */
  readonly reader: IdCardDeviceEmulator;
  /** Every log line the controller and its API wrote so far, as written. */
  logs(): string;
}

export async function startIdCardHarness(options: { config?: Partial<CabinetConfigInput> } = {}): Promise<IdCardHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-idcard-'));
  const base = parseConfig({ ...options.config, dataDir, api: { host: '127.0.0.1', port: 0 } }, {});
  const sim = await startSimulator({ compartments: base.compartments, controlPort: 0, firmataPort: 0, scannerPort: 0, idReader: { port: 0 } });
  const config = parseConfig({
    ...options.config,
    dataDir,
    api: { host: '127.0.0.1', port: 0 },
    hardware: { driver: 'firmata', pulseMs: 40, debounceMs: 5, openTimeoutMs: 800, readyTimeoutMs: 5000, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } },
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
    idReader: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.idReader! } },
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
  const harness: IdCardHarness = {
    sim, dataDir, clock, reader: sim.idReader!,
    get controller() {
      return controller;
    },
    logs: () => lines.join(''),
    async call(method, url, body, token = ADMIN_TOKEN) {
      const r = await controller.api.inject({
        method: method as 'GET', url,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let json: unknown = null;
      try { json = r.json(); } catch { json = r.body; }
      return { status: r.statusCode, json };
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

/** As `startController`, with the test's logger. */
async function startCaptured(config: CabinetConfig, clock: TestClock, logger: ReturnType<typeof createLogger>): Promise<RunningController> {
  const cabinet = new Cabinet(config, { logger, clock, adminToken: ADMIN_TOKEN });
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
