import net from 'node:net';
import firmataIo from 'firmata-io';
import { demoCompartments } from '../../controller/config/demo-cabinet.ts';
import { FirmataBoard, type FirmataBoardOptions } from '../../firmware-bridge/firmata/index.ts';
import { CabinetModel } from '../../simulator/cabinet-model.ts';
import { FirmataDeviceEmulator } from '../../simulator/firmata-device.ts';

export type FirmataClient = InstanceType<typeof firmataIo.Firmata>;

/** The demo cabinet (24 doors: relays on pins 2–25, switches on 26–49) behind an emulated Mega on a free port. */
export async function startDemoCabinet() {
  const compartments = demoCompartments();
  const model = new CabinetModel(compartments.map(({ id, lockChannel, doorSensor }) => ({ id, lockChannel, doorSensor })));
  const device = new FirmataDeviceEmulator(model, { port: 0 });
  const port = await device.start();
  return {
    model,
    device,
    port,
    compartments,
    lockOf: (id: string) => compartments.find((c) => c.id === id)!.lockChannel,
    sensorOf: (id: string) => compartments.find((c) => c.id === id)!.doorSensor,
    transport: { kind: 'tcp' as const, host: '127.0.0.1', port },
  };
}
export type DemoCabinet = Awaited<ReturnType<typeof startDemoCabinet>>;

/** A driver for the demo cabinet with test-sized timings. */
export function boardFor(cabinet: DemoCabinet, overrides: Partial<FirmataBoardOptions> = {}): FirmataBoard {
  return new FirmataBoard({
    transport: cabinet.transport,
    pulseMs: 25,
    debounceMs: 10,
    lockChannels: cabinet.compartments.map((c) => c.lockChannel),
    doorSensors: cabinet.compartments.map((c) => c.doorSensor),
    reconnect: { minMs: 10, maxMs: 50 },
    heartbeat: { intervalMs: 50, timeoutMs: 500 },
    handshakeTimeoutMs: 2000,
    ...overrides,
  });
}

/** The plain firmata-io client (no johnny-five) over TCP, resolved once its handshake is done. */
export async function connectFirmataClient(port: number): Promise<{ io: FirmataClient; socket: net.Socket }> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const io = new firmataIo.Firmata(socket);
  // firmata-io re-emits the socket's errors (a pulled cable resets the connection): the test sees the close.
  io.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    io.once('ready', () => resolve());
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  return { io, socket };
}

export async function waitFor(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
