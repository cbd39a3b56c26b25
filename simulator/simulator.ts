import type { FastifyInstance } from 'fastify';
import { CabinetModel } from './cabinet-model.ts';
import { CameraDeviceEmulator, type CameraSimOptions } from './camera-device.ts';
import { buildControlApi } from './control-api.ts';
import { FirmataDeviceEmulator, type FirmataClientPolicy } from './firmata-device.ts';
import { startGenuineBoard, type GenuineBoard } from './genuine-firmata/genuine-board.ts';
import { IdCardDeviceEmulator, type IdReaderSimOptions } from './idcard-device.ts';
import { startLockboardBus, type LockboardOptions, type SimCompartment } from './lockboard-bus.ts';
import type { LockboardBusEmulator } from './lockboard-device.ts';
import { ScannerDeviceEmulator } from './scanner-device.ts';

export interface SimulatorOptions {
  /** With `lockboard`, each compartment also names its `board` and `channel` (lockChannel = doorSensor = lockId(board, channel)). */
  readonly compartments: readonly SimCompartment[];
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
  /**
   * `genuine`: the Firmata port is an Arduino Uno running the real StandardFirmata (the prebuilt hex, fetched
   * from the npm registry on first use) on an emulated ATmega328P, in real time, instead of the emulator. The
   * compartments must fit an Uno (`unoCompartments()`); see simulator/genuine-firmata/README.md.
   */
  readonly firmata?: 'emulated' | 'genuine';
  /**
   * RS-485 lock-control boards on the same cabinet model, reached over TCP (`ports.lockboard`) and, with
   * `pty: true`, a pseudo-terminal (`lockboardPty`). The Firmata port still listens, with nothing wired to
   * drive; `/sim/board/*` and the `board`/`host` of `/sim/state` then speak of the lock-board bus.
   */
  readonly lockboard?: LockboardOptions;
  /** The resident ID-card reader over TCP (`ports.idReader`) and, with `pty: true`, a pseudo-terminal (`idReaderPty`). */
  readonly idReader?: IdReaderSimOptions;
  /** The camera over the doors: an HTTP snapshot URL (`camera.url`, port `ports.camera`) with its login. */
  readonly camera?: CameraSimOptions;
}

export interface RunningSimulator {
  readonly model: CabinetModel;
  readonly firmata: FirmataDeviceEmulator;
  /** The Uno running the genuine StandardFirmata, with `firmata: 'genuine'` (`firmata` is then left unstarted). */
  readonly genuine?: GenuineBoard;
  readonly scanner: ScannerDeviceEmulator;
  /** The lock-board bus, when `lockboard` was given. */
  readonly lockboard?: LockboardBusEmulator;
  /** The pseudo-terminal the controller opens for the lock-board bus, with `lockboard.pty`. */
  readonly lockboardPty?: string;
  /** The ID-card reader, when `idReader` was given. */
  readonly idReader?: IdCardDeviceEmulator;
  /** The pseudo-terminal the controller opens for the ID-card reader, with `idReader.pty`. */
  readonly idReaderPty?: string;
  /** The camera, when `camera` was given. */
  readonly camera?: CameraDeviceEmulator;
  readonly ports: { control: number; firmata: number; scanner: number; lockboard?: number; idReader?: number; camera?: number };
  stop(): Promise<void>;
}

/** The cabinet's hardware in software: the Firmata board, the scanner and the person's control API. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const model = new CabinetModel(options.compartments.map((c) => ({ id: c.id, lockChannel: c.lockChannel, doorSensor: c.doorSensor })));
  const firmata = new FirmataDeviceEmulator(model, { host, port: options.firmataPort, clients: options.firmataClients ?? 'refuse' });
  let scanner = new ScannerDeviceEmulator({ host, port: options.scannerPort });
  const idReader = options.idReader ? new IdCardDeviceEmulator({ host, port: options.idReader.port ?? 0 }) : null;
  const camera = options.camera ? new CameraDeviceEmulator({ host, ...options.camera }) : null;
  const genuine = options.firmata === 'genuine'
    ? await startGenuineBoard(model, { host, port: options.firmataPort, log: (line) => process.stderr.write(`${line}\n`) })
    : null;
  const firmataPort = genuine ? genuine.port : await firmata.start();
  let bus: Awaited<ReturnType<typeof startLockboardBus>> | null = null;
  try {
    bus = options.lockboard ? await startLockboardBus(model, options.compartments, options.lockboard, host) : null;
  } catch (error) {
    await firmata.stop();
    await genuine?.stop();
    throw error;
  }
  let scannerPort: number;
  try {
    scannerPort = await scanner.start();
  } catch (error) {
    if (!options.scannerPortFallback || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      await firmata.stop();
      await genuine?.stop();
      await bus?.stop();
      throw error;
    }
    scanner = new ScannerDeviceEmulator({ host, port: 0 });
    scannerPort = await scanner.start();
  }
  let api: FastifyInstance | null = null;
  try {
    api = await buildControlApi({ model, firmata, scanner, ...(genuine ? { genuine } : {}), ...(bus ? { lockboard: bus.device } : {}), ...(idReader ? { idReader } : {}), ...(camera ? { camera } : {}) });
    await api.listen({ host, port: options.controlPort });
  } catch (error) {
    await firmata.stop();
    await genuine?.stop();
    await scanner.stop();
    await bus?.stop();
    throw error;
  }
  const address = api.server.address();
  const control = typeof address === 'object' && address ? address.port : options.controlPort;
  let idReaderPort: number | undefined;
  let idReaderPty: string | undefined;
  let cameraPort: number | undefined;
  try {
    idReaderPort = await idReader?.start();
    if (idReader && options.idReader?.pty) idReaderPty = await idReader.openPty();
    cameraPort = await camera?.start();
  } catch (error) {
    await api.close();
    await camera?.stop();
    await idReader?.stop();
    await scanner.stop();
    await firmata.stop();
    await genuine?.stop();
    await bus?.stop();
    throw error;
  }
  return {
    model, firmata, scanner,
    ...(genuine ? { genuine } : {}),
    ...(bus ? { lockboard: bus.device, ...(bus.ptyPath ? { lockboardPty: bus.ptyPath } : {}) } : {}),
    ...(idReader ? { idReader, ...(idReaderPty ? { idReaderPty } : {}) } : {}),
    ...(camera ? { camera } : {}),
    ports: { control, firmata: firmataPort, scanner: scannerPort, ...(bus ? { lockboard: bus.port } : {}), ...(idReaderPort !== undefined ? { idReader: idReaderPort } : {}), ...(cameraPort !== undefined ? { camera: cameraPort } : {}) },
    async stop() {
      await api?.close();
      await camera?.stop();
      await idReader?.stop();
      await scanner.stop();
      await firmata.stop();
      await genuine?.stop();
      await bus?.stop();
    },
  };
}
