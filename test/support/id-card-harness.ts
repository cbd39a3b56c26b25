import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../controller/config/load.ts';
import type { CabinetConfigInput } from '../../controller/config/schema.ts';
import type { IdCardDeviceEmulator } from '../../simulator/idcard-device.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { startCapturedHarness, type CapturedHarness } from './captured-harness.ts';

// The cabinet harness with an ID-card reader: the simulator's reader over TCP, wired into the controller's
// config, and every log line the controller writes (at trace level) kept for "never in the logs" checks.

export interface IdCardHarness extends CapturedHarness {
  /** The simulated reader (the person puts cards on it). */
  readonly reader: IdCardDeviceEmulator;
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
  const harness = await startCapturedHarness(config, sim);
  return Object.assign(harness, { reader: sim.idReader! });
}
