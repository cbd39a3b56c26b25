import type { FastifyInstance } from 'fastify';
import type { CompartmentConfig } from '../controller/config/schema.ts';
import { CabinetModel } from './cabinet-model.ts';
import { buildControlApi } from './control-api.ts';
import { FirmataDeviceEmulator, type FirmataClientPolicy } from './firmata-device.ts';
import { ScannerDeviceEmulator } from './scanner-device.ts';

export interface SimulatorOptions {
  readonly compartments: readonly CompartmentConfig[];
  readonly host?: string;
  /** Control API and page; 0 picks a free port. */
  readonly controlPort: number;
  readonly firmataPort: number;
  readonly scannerPort: number;
  /** When the scanner port is taken, use a free one instead of failing (it is our own extension's default). */
  readonly scannerPortFallback?: boolean;
  /**
   * A second client on the Firmata port while one is connected: `refuse` (default, a board with one TCP slot)
   * or `replace` (StandardFirmataWiFi: the old client is closed with FIN). Also `POST /sim/board/clients`.
   */
  readonly firmataClients?: FirmataClientPolicy;
}

export interface RunningSimulator {
  readonly model: CabinetModel;
  readonly firmata: FirmataDeviceEmulator;
  readonly scanner: ScannerDeviceEmulator;
  readonly ports: { control: number; firmata: number; scanner: number };
  stop(): Promise<void>;
}

/** The cabinet's hardware in software: the Firmata board, the scanner and the person's control API. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const model = new CabinetModel(options.compartments.map((c) => ({ id: c.id, lockChannel: c.lockChannel, doorSensor: c.doorSensor })));
  const firmata = new FirmataDeviceEmulator(model, { host, port: options.firmataPort, clients: options.firmataClients ?? 'refuse' });
  let scanner = new ScannerDeviceEmulator({ host, port: options.scannerPort });
  const firmataPort = await firmata.start();
  let scannerPort: number;
  try {
    scannerPort = await scanner.start();
  } catch (error) {
    if (!options.scannerPortFallback || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      await firmata.stop();
      throw error;
    }
    scanner = new ScannerDeviceEmulator({ host, port: 0 });
    scannerPort = await scanner.start();
  }
  let api: FastifyInstance | null = null;
  try {
    api = await buildControlApi({ model, firmata, scanner });
    await api.listen({ host, port: options.controlPort });
  } catch (error) {
    await firmata.stop();
    await scanner.stop();
    throw error;
  }
  const address = api.server.address();
  const control = typeof address === 'object' && address ? address.port : options.controlPort;
  return {
    model, firmata, scanner,
    ports: { control, firmata: firmataPort, scanner: scannerPort },
    async stop() {
      await api?.close();
      await scanner.stop();
      await firmata.stop();
    },
  };
}
