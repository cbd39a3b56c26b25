import net from 'node:net';
import firmataIo from 'firmata-io';
import { demoCompartments } from '../controller/config/demo-cabinet.ts';
import { FirmataBoard } from '../firmware-bridge/firmata/index.ts';
import { CabinetModel } from '../simulator/cabinet-model.ts';
import { FirmataDeviceEmulator } from '../simulator/firmata-device.ts';

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setImmediate(r));
};

/**
 * The raw wire round trip: a relay pin written HIGH by a plain firmata-io client over TCP, until the door
 * switch's report comes back (the emulated latch springs the door open on the rising edge).
 */
export async function measureWireRoundTrip(samples: number): Promise<number[]> {
  const compartments = demoCompartments();
  const model = new CabinetModel(compartments);
  const device = new FirmataDeviceEmulator(model, { port: 0 });
  const port = await device.start();
  const socket = net.createConnection({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const io = new firmataIo.Firmata(socket);
  await new Promise<void>((resolve) => io.once('ready', () => resolve()));
  const door = compartments[0]!;
  io.pinMode(door.lockChannel, io.MODES.OUTPUT);
  io.pinMode(door.doorSensor, io.MODES.PULLUP);
  let level = 0;
  io.digitalRead(door.doorSensor, (v: number) => { level = v; });
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    io.digitalWrite(door.lockChannel, io.HIGH);
    await until(() => level === 1);
    out.push(performance.now() - t0);
    io.digitalWrite(door.lockChannel, io.LOW);
    model.close(door.id);
    await until(() => level === 0);
  }
  socket.destroy();
  await device.stop();
  return out;
}

/** The same through govlocker's driver: `LockBank.pulse()` until `DoorSensors` reports the open edge. */
export async function measureDriverRoundTrip(samples: number): Promise<number[]> {
  const compartments = demoCompartments();
  const model = new CabinetModel(compartments);
  const device = new FirmataDeviceEmulator(model, { port: 0 });
  const port = await device.start();
  const board = new FirmataBoard({
    transport: { kind: 'tcp', host: '127.0.0.1', port }, pulseMs: 20, debounceMs: 20,
    lockChannels: compartments.map((c) => c.lockChannel), doorSensors: compartments.map((c) => c.doorSensor),
  });
  await board.start();
  const door = compartments[1]!;
  let opened = 0;
  board.doors.onEdge((e) => { if (e.sensor === door.doorSensor && e.open) opened = performance.now(); });
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    opened = 0;
    const t0 = performance.now();
    const pulse = board.locks.pulse(door.lockChannel);
    await until(() => opened > 0);
    out.push(opened - t0);
    await pulse;
    model.close(door.id);
    await until(() => board.doors.isOpen(door.doorSensor) === false);
    await new Promise((r) => setTimeout(r, 25)); // past the settle window
  }
  await board.stop();
  await device.stop();
  return out;
}
