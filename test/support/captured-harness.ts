import { rmSync } from 'node:fs';
import { openApiListeners } from '../../bin/api-listeners.ts';
import type { RunningController } from '../../bin/run.ts';
import { Cabinet, type CabinetParts } from '../../controller/cabinet.ts';
import type { CabinetConfig } from '../../controller/config/schema.ts';
import { createLogger } from '../../controller/logging.ts';
import type { RunningSimulator } from '../../simulator/simulator.ts';
import { ADMIN_TOKEN, callApi, TestClock, type Harness } from './cabinet-harness.ts';

// A cabinet harness whose controller writes to the test's own logger (at trace level, every line kept) for
// "never in the logs" checks: the ID-card and camera harnesses build on it with their own devices.

export interface CapturedHarness extends Harness {
  /** Every log line the controller and its API wrote so far, as written. */
  logs(): string;
}

/** The controller on `config` beside `sim`, with the test's logger; `parts` as the Cabinet takes them. */
export async function startCapturedHarness(config: CabinetConfig, sim: RunningSimulator, parts: Omit<CabinetParts, 'logger' | 'clock' | 'adminToken'> = {}): Promise<CapturedHarness> {
  const clock = new TestClock();
  const lines: string[] = [];
  const echo = process.env.GOVLOCKER_TEST_LOG;
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => { lines.push(line); if (echo) process.stdout.write(line); } },
  });
  const start = async (): Promise<RunningController> => {
    const cabinet = new Cabinet(config, { ...parts, logger, clock, adminToken: ADMIN_TOKEN });
    await cabinet.start();
    const listeners = await openApiListeners(cabinet, null, logger.child({ part: 'api' }));
    return {
      cabinet, listeners, api: listeners.api, apiPort: listeners.apiPort,
      async stop() {
        await listeners.close();
        await cabinet.stop();
      },
    };
  };
  let controller = await start();
  let running = true;
  return {
    sim, dataDir: config.dataDir, clock,
    get controller() {
      return controller;
    },
    logs: () => lines.join(''),
    call: (method, url, body, token = ADMIN_TOKEN) => callApi(controller, method, url, body, token),
    async stopController() {
      if (running) await controller.stop();
      running = false;
    },
    async restartController() {
      if (running) await controller.stop();
      controller = await start();
      running = true;
      return controller;
    },
    async stop() {
      if (running) await controller.stop();
      running = false;
      await sim.stop();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
