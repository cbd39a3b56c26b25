import type { FastifyInstance } from 'fastify';
import { Cabinet } from '../controller/cabinet.ts';
import { randomBytes } from 'node:crypto';
import { cameraSchema, mqttSchema, type CabinetConfig } from '../controller/config/schema.ts';
import { redactMqttUrl } from '../controller/mqtt/mqtt-link.ts';
import { createLogger } from '../controller/logging.ts';
import type { Clock } from '../controller/store/store.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../simulator/simulator.ts';
import type { CameraSimOptions } from '../simulator/camera-device.ts';
import { describeTransport } from '../firmware-bridge/open-transport.ts';
import { LockboardBoard } from '../firmware-bridge/lockboard/lockboard-board.ts';
import { ConfigError, type ConfigProblem } from '../controller/config/load.ts';
import { accountUrl, loadOrCreateBrokerAccounts, type BrokerAccounts } from './broker-accounts.ts';
import { FLEET_MONITOR_ACCOUNT, HALL_SYSTEM_ACCOUNT, OPS_ACCOUNT, SMS_GATEWAY_ACCOUNT } from './broker-acl.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.ts';
import { listenerBanner, openApiListeners, servingCertificate, type ApiListeners, type CertificateWatchTiming } from './api-listeners.ts';
import type { Shutdown } from './shutdown.ts';
import { statusLine, systemdNotifier } from './systemd-notify.ts';

const envPort = (name: string, fallback: number): number => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new Error(`${name}="${text}" is not a port: use 1–65535, or 0 to pick a free one`);
  return Number(text);
};

/** The simulator's Firmata port: the config's (a Firmata cabinet), else GOVLOCKER_FIRMATA_PORT or a free one (nothing drives it). */
function firmataPortOf(config: CabinetConfig): number {
  const { hardware } = config;
  if (hardware.driver === 'lockboard') return envPort('GOVLOCKER_FIRMATA_PORT', 0);
  return hardware.transport.kind === 'tcp' ? hardware.transport.port : 3030;
}

/** A lock-board cabinet: the simulator emulates its bus over TCP (the config's port, or a free one for a serial bus). */
function emulatedLockboard(config: CabinetConfig): Pick<SimulatorOptions, 'lockboard'> {
  const { hardware, compartments } = config;
  if (hardware.driver !== 'lockboard') return {};
  const { bus } = hardware;
  const port = bus.transport.kind === 'tcp' ? bus.transport.port : 0;
  if (bus.protocol === 'kerong-cu') return { lockboard: { protocol: bus.protocol, port, settings: { lockedWhen: bus.lockedWhen, channelsPerBoard: bus.channelsPerBoard } } };
  // Emulated 8A/80 boards have the typical 24 channels, or as many as the compartments use.
  const highest = Math.max(0, ...compartments.map((c) => c.channel ?? 0));
  const channelsPerBoard = Math.min(bus.channelsPerBoard, Math.max(24, highest));
  return { lockboard: { protocol: bus.protocol, port, settings: { lockedWhen: bus.lockedWhen, channelsOneToEightIn: bus.channelsOneToEightIn, channelsPerBoard } } };
}

/**
 * The simulated camera (GOVLOCKER_CAMERA_PORT, or a free port), asking for HTTP Digest with the config's camera
 * login; without one, `govlocker start` makes a fresh login for the run and `govlocker simulate` asks for none.
 */
function simulatedCamera(config: CabinetConfig, whole: boolean): CameraSimOptions {
  const port = envPort('GOVLOCKER_CAMERA_PORT', 0);
  const { username, password } = config.camera ?? {};
  if (username !== undefined && password !== undefined) return { port, auth: 'digest', username, password };
  return whole ? { port, auth: 'digest', username: 'govlocker', password: randomBytes(12).toString('base64url') } : { port, auth: 'none' };
}

/** The config's camera pointed at the simulated one, with its login (the demo's stills are not required). */
function wiredCamera(config: CabinetConfig, sim: RunningSimulator): CabinetConfig['camera'] {
  if (!sim.camera) return config.camera;
  const { username, password } = sim.camera.login;
  return cameraSchema.parse({ ...config.camera, snapshotUrl: sim.camera.url, username, password });
}

/** The config's hardware pointed at the simulator's emulated board. */
function wiredHardware(config: CabinetConfig, sim: RunningSimulator): CabinetConfig['hardware'] {
  const { hardware } = config;
  if (hardware.driver !== 'lockboard') return { ...hardware, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } };
  if (sim.ports.lockboard === undefined) throw new Error('the simulator did not start the lock-board bus');
  return { ...hardware, bus: { ...hardware.bus, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.lockboard } } };
}

function describeHardware(config: CabinetConfig): string {
  const { hardware } = config;
  if (hardware.driver === 'firmata') return `Firmata ${describeTransport(hardware.transport)}`;
  const boards = [...new Set(config.compartments.map((c) => c.board))].sort((a, b) => (a ?? 0) - (b ?? 0));
  return `${hardware.bus.protocol} lock boards ${boards.join(', ')} on ${describeTransport(hardware.bus.transport)}, polled every ${hardware.bus.pollMs} ms`;
}

/** The banner's board line: Firmata over TCP, or the emulated lock-board bus. */
function boardLine(config: CabinetConfig, sim: RunningSimulator, link?: string): [string, string] {
  const state = link ? `  board ${link}` : '';
  if (config.hardware.driver !== 'lockboard') return ['Firmata (TCP)', `127.0.0.1:${sim.ports.firmata}${state}`];
  const boards = [...new Set(config.compartments.map((c) => c.board))].join(', ');
  return ['lock boards (TCP)', `127.0.0.1:${sim.ports.lockboard}  ${config.hardware.bus.protocol}, board${boards.includes(',') ? 's' : ''} ${boards}${state}`];
}

export interface RunningController {
  readonly cabinet: Cabinet;
  readonly api: FastifyInstance;
  readonly apiPort: number;
  /** Every port the API listens on (with `api.tls`: HTTPS, the loopback kiosk listener, the redirect). */
  readonly listeners: ApiListeners;
  stop(): Promise<void>;
}

/** The controller and its API: start in order, stop in reverse. */
export async function startController(config: CabinetConfig, options: { adminToken?: string; logLevel?: string; clock?: Clock; certificateWatch?: CertificateWatchTiming } = {}): Promise<RunningController> {
  const logger = createLogger({ level: options.logLevel });
  // Before anything opens: a certificate that cannot be served refuses the start.
  const certificate = servingCertificate(config, logger.child({ part: 'api' }));
  const cabinet = new Cabinet(config, { logger, clock: options.clock, adminToken: options.adminToken ?? process.env.GOVLOCKER_ADMIN_TOKEN });
  await cabinet.start();
  let listeners: ApiListeners;
  try {
    listeners = await openApiListeners(cabinet, certificate, logger.child({ part: 'api' }), options.certificateWatch);
  } catch (error) {
    await cabinet.stop();
    throw error;
  }
  return {
    cabinet, listeners, api: listeners.api, apiPort: listeners.apiPort,
    async stop() {
      await listeners.close();
      await cabinet.stop();
    },
  };
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

/**
 * `npm start`: the simulator, then the controller wired to it over real Firmata/TCP (or, for a lock-board
 * cabinet, the emulated RS-485 bus over TCP) and the scanner's TCP line.
 */
/** How `govlocker start` / `simulate` run the simulated board. */
export interface RunOptions {
  /** `genuine`: the real StandardFirmata on an emulated Uno on the Firmata port (`--firmata genuine`). */
  readonly firmata?: 'emulated' | 'genuine';
}

export async function runWholeCabinet(config: CabinetConfig, shutdown: Shutdown, options: RunOptions = {}): Promise<void> {
  const sim: RunningSimulator = await shutdown.track(startSimulator({
    compartments: config.compartments,
    ...(options.firmata === 'genuine' ? { firmata: 'genuine' as const } : {}),
    controlPort: envPort('GOVLOCKER_SIM_PORT', 8090),
    firmataPort: firmataPortOf(config),
    ...emulatedLockboard(config),
    scannerPort: config.scanner?.transport.kind === 'tcp' ? config.scanner.transport.port : 3031,
    scannerPortFallback: !process.env.GOVLOCKER_SCANNER_PORT,
    idReader: { port: config.idReader?.transport.kind === 'tcp' ? config.idReader.transport.port : 0 },
    camera: simulatedCamera(config, true),
  }), (s) => s.stop());
  // Without MQTT_URL the demo runs its own broker, so the ops side can be tried too: with the accounts and ACL
  // of central ops' Mosquitto, the cabinet logging in as its id.
  let broker: EmbeddedBroker | null = null;
  let accounts: BrokerAccounts | null = null;
  if (!config.mqtt) {
    accounts = loadOrCreateBrokerAccounts(config.dataDir, config.cabinetId);
    broker = await shutdown.track(startEmbeddedBroker({
      port: envPort('GOVLOCKER_MQTT_PORT', 1883),
      accounts: accounts.passwords,
      logger: createLogger().child({ part: 'embedded-broker' }),
    }), (b) => b.stop());
  }
  const wired: CabinetConfig = {
    ...config,
    mqtt: config.mqtt ?? mqttSchema.parse({ url: broker!.url, username: config.cabinetId, password: accounts!.passwords.get(config.cabinetId) }),
    hardware: wiredHardware(config, sim),
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
    idReader: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.idReader! } },
    camera: wiredCamera(config, sim),
  };
  const controller = await shutdown.track(startController(wired), (c) => c.stop());
  const { api, kiosk, https } = listenerBanner(wired, controller.listeners);
  const login = (account: string) => accountUrl(broker!.url, account, accounts!.passwords.get(account)!);
  banner([
    ['govlocker', `cabinet ${config.cabinetId}, ${config.compartments.length} compartments, data in ${config.dataDir}`],
    ['kiosk', kiosk],
    ['clerk station', `${api}/clerk`],
    ['admin API', `${api}/api/v1  (health: ${api}/api/v1/health)`],
    ['API docs', `${api}/docs  (OpenAPI 3.1: ${api}/docs/json)`],
    ['metrics', `${api}/metrics`],
    ...https,
    ['simulator', `http://127.0.0.1:${sim.ports.control}/  (control API: /sim/state)`],
    boardLine(config, sim, controller.cabinet.board.link),
    ['scanner (TCP)', `127.0.0.1:${sim.ports.scanner}`],
    ['ID-card reader (TCP)', `127.0.0.1:${sim.ports.idReader}  reader ${controller.cabinet.health().idReader}  (put a card on it: POST /sim/idcard {"idNumber"})`],
    ['camera (HTTP)', `${sim.camera!.url}  Digest login ${sim.camera!.login.username}, a still at every door open and close (GET /api/v1/snapshots/:id as ops; pull its cable: POST /sim/camera {"fault":"down"})`],
    ['MQTT', broker ? `${broker.url} (embedded broker: MQTT_URL was not set), topics govlocker/v1/${config.cabinetId}/#` : `${redactMqttUrl(config.mqtt!.url)}, topics govlocker/v1/${config.cabinetId}/#`],
    ...(broker && accounts ? [
      ['MQTT ops', `${login(OPS_ACCOUNT)}  (govlocker cmd --mqtt …: commands; status, events, replies)`],
      ['MQTT fleet monitor', `${login(FLEET_MONITOR_ACCOUNT)}  (govlocker fleet --mqtt …)`],
      ['MQTT SMS gateway', `${login(SMS_GATEWAY_ACCOUNT)}  (reads …/notify only)`],
      ['MQTT hall system', `${login(HALL_SYSTEM_ACCOUNT)}  (sends …/cmd/case, reads replies)`],
      ['MQTT accounts', `${accounts.file} (mode 0600; the cabinet logs in as ${config.cabinetId}; anonymous clients are refused)`],
    ] satisfies [string, string][] : []),
    ['command key', `${config.mqtt?.commandKeyFile ?? `${config.dataDir}/command.key`} (ops sign commands with it: govlocker cmd)`],
  ]);
  printToken(controller.cabinet);
}

/**
 * A lock-board bus on which some configured boards answer and others never did is a configuration mistake (a
 * wrong address, a board missing from the bus), not an outage: refused by name. A bus on which nobody answers
 * may simply be powered up later, and runs degraded until it answers.
 */
function silentBoardsOnAnsweringBus(config: CabinetConfig, board: unknown): ConfigProblem[] {
  if (!(board instanceof LockboardBoard) || board.link === 'ok') return [];
  const { answering, silent } = board.boardsHeard();
  if (answering.length === 0) return [];
  return silent.map((address) => {
    const ids = config.compartments.filter((c) => c.board === address).map((c) => c.id);
    return { path: 'compartments', message: `board ${address} (${ids.join(', ')}) does not answer while board${answering.length === 1 ? '' : 's'} ${answering.join(', ')} on the same bus do${answering.length === 1 ? 'es' : ''}: check its address switch and wiring with "govlocker hardware probe", or remove its compartments` };
  });
}

export async function runController(config: CabinetConfig, shutdown: Shutdown): Promise<void> {
  const controller = await shutdown.track(startController(config), (c) => c.stop());
  const misconfigured = silentBoardsOnAnsweringBus(config, controller.cabinet.board);
  if (misconfigured.length > 0) throw new ConfigError(misconfigured, 'the lock-board bus');
  const { api, kiosk, https } = listenerBanner(config, controller.listeners);
  banner([
    ['govlocker', `controller for cabinet ${config.cabinetId}`],
    ['kiosk', kiosk],
    ['clerk station', `${api}/clerk`],
    ['admin API', `${api}/api/v1`],
    ['metrics', `${api}/metrics`],
    ...https,
    ['board', `${describeHardware(config)}: ${controller.cabinet.board.link}`],
    ['ID-card reader', config.idReader ? `${JSON.stringify(config.idReader.transport)}: ${controller.cabinet.health().idReader}` : 'none (the ID suffix is typed)'],
    ['MQTT', config.mqtt ? redactMqttUrl(config.mqtt.url) : 'disabled (no MQTT_URL)'],
  ]);
  printToken(controller.cabinet);
  // Under systemd: ready now that the API listens. Tracked after the controller, so STOPPING=1 goes out first.
  const notifier = systemdNotifier(createLogger().child({ part: 'systemd' }));
  if (notifier) {
    await shutdown.track(Promise.resolve(notifier), (n) => n.stopping());
    notifier.ready(() => statusLine(controller.cabinet.health()));
  }
}

export async function runSimulatorOnly(config: CabinetConfig, shutdown: Shutdown, options: RunOptions = {}): Promise<void> {
  const sim = await shutdown.track(startSimulator({
    compartments: config.compartments,
    ...(options.firmata === 'genuine' ? { firmata: 'genuine' as const } : {}),
    controlPort: envPort('GOVLOCKER_SIM_PORT', 8090),
    firmataPort: firmataPortOf(config),
    ...emulatedLockboard(config),
    scannerPort: config.scanner?.transport.kind === 'tcp' ? config.scanner.transport.port : 3031,
    scannerPortFallback: !process.env.GOVLOCKER_SCANNER_PORT,
    idReader: { port: config.idReader?.transport.kind === 'tcp' ? config.idReader.transport.port : 0 },
    camera: simulatedCamera(config, false),
  }), (s) => s.stop());
  banner([
    ['govlocker simulator', `${config.compartments.length} compartments`],
    ['control API and page', `http://127.0.0.1:${sim.ports.control}/`],
    boardLine(config, sim),
    ['scanner (TCP)', `127.0.0.1:${sim.ports.scanner}`],
    ['ID-card reader (TCP)', `127.0.0.1:${sim.ports.idReader}`],
    ['camera (HTTP)', `${sim.camera!.url}  ${sim.camera!.login.auth === 'none' ? 'no login' : `Digest login ${sim.camera!.login.username} (the config's camera login)`}`],
  ]);
}
