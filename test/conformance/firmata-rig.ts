import { demoCompartments } from '../../controller/config/demo-cabinet.ts';
import type { CompartmentConfig } from '../../controller/config/schema.ts';
import { FirmataBoard, type FirmataBoardOptions } from '../../firmware-bridge/firmata/index.ts';
import { CabinetModel } from '../../simulator/cabinet-model.ts';
import { FirmataDeviceEmulator } from '../../simulator/firmata-device.ts';
import { startGenuineBoard } from '../../simulator/genuine-firmata/genuine-board.ts';
import { UNO_BLINK_PIN, unoCompartments } from '../../simulator/genuine-firmata/uno-wiring.ts';
import { FirmataRelayWrites } from '../support/firmata-relay-writes.ts';
import { until } from '../support/lockboard-wire.ts';
import { TcpTap } from '../support/tcp-tap.ts';
import type { BoardRig, RigDoor, WireEntry } from './board-rig.ts';

// FirmataBoard against a Firmata board over TCP: our emulator (a Mega running StandardFirmataWiFi 2.5) or the
// genuine StandardFirmata 2.4 on an emulated Uno. The driver reaches the board through a TcpTap, which hears
// every relay write and can cut the cable as a dying host does.

/** The board end: what differs between the emulator and the genuine firmware. */
interface FirmataTarget {
  readonly port: number;
  readonly compartments: readonly CompartmentConfig[];
  hostConnected(): boolean;
  silence(): void;
  answerAgain(): void;
  /** A power cycle, resolved once the firmware runs again. */
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

export type FirmataBoardKind = 'emulated' | 'genuine';

/** Timings for each board: the genuine Uno boots ≈1.9 s before its first answer and runs on a shared CPU. */
const DRIVER: Record<FirmataBoardKind, { options: Partial<FirmataBoardOptions>; readyTimeoutMs: number; lostWithinMs: number }> = {
  emulated: {
    options: { pulseMs: 40, debounceMs: 10, reconnect: { minMs: 10, maxMs: 50 }, heartbeat: { intervalMs: 50, timeoutMs: 500 }, handshakeTimeoutMs: 2000 },
    readyTimeoutMs: 3000,
    lostWithinMs: 2000,
  },
  // The production heartbeat (1 s / 3 s): a reboot (≈1.9 s) must be noticed by the board's greeting, not by
  // a heartbeat shorter than the boot.
  genuine: {
    options: { pulseMs: 60, debounceMs: 10, reconnect: { minMs: 20, maxMs: 100 }, heartbeat: { intervalMs: 1000, timeoutMs: 3000 }, handshakeTimeoutMs: 1500 },
    readyTimeoutMs: 8000,
    lostWithinMs: 5000,
  },
};

async function startTarget(kind: FirmataBoardKind, model: (compartments: readonly CompartmentConfig[]) => CabinetModel): Promise<{ target: FirmataTarget; model: CabinetModel }> {
  if (kind === 'emulated') {
    const compartments = demoCompartments();
    const cabinet = model(compartments);
    const device = new FirmataDeviceEmulator(cabinet, { port: 0 });
    const port = await device.start();
    return {
      model: cabinet,
      target: { port, compartments, hostConnected: () => device.hostConnected, silence: () => device.disconnect('silent'), answerAgain: () => device.connect(), stop: () => device.stop(), restart: async () => device.restart() },
    };
  }
  const compartments = unoCompartments();
  const cabinet = model(compartments);
  // Fetches the pinned hex on first use (npm run firmware:fetch does it ahead of time).
  const uno = await startGenuineBoard(cabinet, { port: 0, log: (line) => console.info(line) });
  return {
    model: cabinet,
    target: {
      port: uno.port, compartments, hostConnected: () => uno.hostConnected, silence: () => uno.disconnect('silent'), answerAgain: () => uno.connect(), stop: () => uno.stop(),
      async restart() {
        // StandardFirmata 2.4 blinks its version on D13 (2 + 4 times, ≈1.9 s) before it runs the sketch's loop.
        let blinks = 0;
        let lit = false;
        const off = uno.machine.onPins(() => {
          if (!lit && uno.machine.pin(UNO_BLINK_PIN) === 'high') blinks++;
          lit = uno.machine.pin(UNO_BLINK_PIN) === 'high';
        });
        try {
          uno.machine.reset();
          await until(() => blinks === 6, 8000, 'the Uno to boot again (its version blinks)');
        } finally {
          off();
        }
      },
    },
  };
}

/** `doorIds`: the compartments the suite uses, on different Firmata ports where the board has several. */
export async function openFirmataRig(kind: FirmataBoardKind, doorIds: readonly string[]): Promise<BoardRig> {
  const { target, model } = await startTarget(kind, (compartments) => new CabinetModel(compartments.map(({ id, lockChannel, doorSensor }) => ({ id, lockChannel, doorSensor }))));
  const byId = new Map(target.compartments.map((c) => [c.id, c]));
  const doors: RigDoor[] = doorIds.map((id) => {
    const c = byId.get(id);
    if (!c) throw new Error(`no compartment ${id} on the ${kind} Firmata board`);
    return { id, lock: c.lockChannel, sensor: c.doorSensor };
  });
  const writes = new FirmataRelayWrites(target.compartments.map((c) => c.lockChannel));
  const timing = DRIVER[kind];
  let tap: TcpTap | null = null;
  let driver: FirmataBoard | null = null;

  const rig: BoardRig = {
    model,
    doors,
    get board() {
      if (!driver) throw new Error('no driver started');
      return driver;
    },
    latch: { timedBy: 'host' },
    heardEveryMs: timing.options.heartbeat!.intervalMs,
    lostWithinMs: timing.lostWithinMs,
    async startDriver() {
      await tap?.close();
      tap = await TcpTap.open({ port: target.port, onConnection: writes.connection });
      driver = new FirmataBoard({
        transport: { kind: 'tcp', host: '127.0.0.1', port: tap.port },
        lockChannels: target.compartments.map((c) => c.lockChannel),
        doorSensors: target.compartments.map((c) => c.doorSensor),
        pulseMs: 40,
        debounceMs: 10,
        ...timing.options,
      });
      await driver.start({ readyTimeoutMs: timing.readyTimeoutMs });
      return driver;
    },
    silence: () => target.silence(),
    answerAgain: () => target.answerAgain(),
    ...(target.restart ? { restartBoard: target.restart } : {}),
    async crashHost() {
      tap?.cut();
      await driver?.stop(); // its goodbye (every relay LOW) goes nowhere: the tap is cut
    },
    hostConnected: () => target.hostConnected(),
    wire: () => writes.writes.map((w): WireEntry => ({ at: w.at, text: w.message, kind: w.raised.length > 0 ? 'open' : 'setup', opens: w.raised, energised: w.high })),
    async reset() {
      await driver?.stop();
      driver = null;
      await tap?.close();
      tap = null;
      target.answerAgain();
      await until(() => !target.hostConnected(), 2000, 'the board to see its host gone'); // it has one slot
      for (const [id, door] of Object.entries(model.snapshot())) {
        if (door.fault) model.setFault(id, null);
        if (door.open) model.close(id);
      }
    },
    async dispose() {
      await rig.reset();
      await target.stop();
    },
  };
  return rig;
}
