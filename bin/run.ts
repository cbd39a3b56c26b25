import type { FastifyInstance } from 'fastify';
import { buildApi } from '../admin-api/server.ts';
import { Cabinet } from '../controller/cabinet.ts';
import type { CabinetConfig } from '../controller/config/schema.ts';
import { createLogger } from '../controller/logging.ts';
import type { Clock } from '../controller/store/store.ts';
import { startSimulator, type RunningSimulator } from '../simulator/simulator.ts';

const envPort = (name: string, fallback: number): number => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new Error(`${name}="${text}" is not a port: use 1–65535, or 0 to pick a free one`);
  return Number(text);
};

export interface RunningController {
  readonly cabinet: Cabinet;
  readonly api: FastifyInstance;
  readonly apiPort: number;
  stop(): Promise<void>;
}

/** The controller and its API: start in order, stop in reverse. */
export async function startController(config: CabinetConfig, options: { adminToken?: string; logLevel?: string; clock?: Clock } = {}): Promise<RunningController> {
  const logger = createLogger({ level: options.logLevel });
  const cabinet = new Cabinet(config, { logger, clock: options.clock, adminToken: options.adminToken ?? process.env.GOVLOCKER_ADMIN_TOKEN });
  await cabinet.start();
  const api = await buildApi(cabinet, logger.child({ part: 'api' }));
  try {
    await api.listen({ host: config.api.host, port: config.api.port });
  } catch (error) {
    await cabinet.stop();
    throw error;
  }
  const address = api.server.address();
  const apiPort = typeof address === 'object' && address ? address.port : config.api.port;
  return {
    cabinet, api, apiPort,
    async stop() {
      await api.close();
      await cabinet.stop();
    },
  };
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping…\n`);
    stop().then(() => process.exit(0), (error) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

function banner(lines: [string, string][]): void {
  const width = Math.max(...lines.map(([k]) => k.length));
  process.stdout.write('\n' + lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n') + '\n\n');
}

function printToken(cabinet: Cabinet): void {
  if (cabinet.generatedAdminToken) {
    process.stdout.write(`  First start: an admin user was created. Its token is shown once — keep it:\n  ${cabinet.generatedAdminToken}\n\n`);
  }
}

/** `npm start`: the simulator, then the controller wired to it over real Firmata/TCP and the scanner's TCP line. */
export async function runWholeCabinet(config: CabinetConfig): Promise<void> {
  const sim: RunningSimulator = await startSimulator({
    compartments: config.compartments,
    controlPort: envPort('GOVLOCKER_SIM_PORT', 8090),
    firmataPort: config.hardware.transport.kind === 'tcp' ? config.hardware.transport.port : 3030,
    scannerPort: config.scanner?.transport.kind === 'tcp' ? config.scanner.transport.port : 3031,
  });
  const wired: CabinetConfig = {
    ...config,
    hardware: { ...config.hardware, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } },
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
  };
  let controller: RunningController;
  try {
    controller = await startController(wired);
  } catch (error) {
    await sim.stop();
    throw error;
  }
  const api = `http://127.0.0.1:${controller.apiPort}`;
  banner([
    ['govlocker', `cabinet ${config.cabinetId}, ${config.compartments.length} compartments, data in ${config.dataDir}`],
    ['kiosk', `${api}/kiosk`],
    ['clerk station', `${api}/clerk`],
    ['admin API', `${api}/api/v1  (health: ${api}/api/v1/health)`],
    ['metrics', `${api}/metrics`],
    ['simulator', `http://127.0.0.1:${sim.ports.control}/  (control API: /sim/state)`],
    ['Firmata (TCP)', `127.0.0.1:${sim.ports.firmata}  board ${controller.cabinet.board.link}`],
    ['scanner (TCP)', `127.0.0.1:${sim.ports.scanner}`],
    ['MQTT', 'disabled (central ops reporting is not enabled in this build)'],
  ]);
  printToken(controller.cabinet);
  onSignals(async () => {
    await controller.stop();
    await sim.stop();
  });
}

export async function runController(config: CabinetConfig): Promise<void> {
  const controller = await startController(config);
  const api = `http://127.0.0.1:${controller.apiPort}`;
  banner([
    ['govlocker', `controller for cabinet ${config.cabinetId}`],
    ['kiosk', `${api}/kiosk`],
    ['clerk station', `${api}/clerk`],
    ['admin API', `${api}/api/v1`],
    ['metrics', `${api}/metrics`],
    ['board', `${JSON.stringify(config.hardware.transport)}: ${controller.cabinet.board.link}`],
  ]);
  printToken(controller.cabinet);
  onSignals(() => controller.stop());
}

export async function runSimulatorOnly(config: CabinetConfig): Promise<void> {
  const sim = await startSimulator({
    compartments: config.compartments,
    controlPort: envPort('GOVLOCKER_SIM_PORT', 8090),
    firmataPort: config.hardware.transport.kind === 'tcp' ? config.hardware.transport.port : 3030,
    scannerPort: config.scanner?.transport.kind === 'tcp' ? config.scanner.transport.port : 3031,
  });
  banner([
    ['govlocker simulator', `${config.compartments.length} compartments`],
    ['control API and page', `http://127.0.0.1:${sim.ports.control}/`],
    ['Firmata (TCP)', `127.0.0.1:${sim.ports.firmata}`],
    ['scanner (TCP)', `127.0.0.1:${sim.ports.scanner}`],
  ]);
  onSignals(() => sim.stop());
}
