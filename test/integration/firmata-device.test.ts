import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectFirmataClient, startDemoCabinet, waitFor, type DemoCabinet, type FirmataClient } from './firmata-fixtures.ts';

// The emulated Mega against the real firmata-io client over real TCP.

let cabinet: DemoCabinet;
const sockets: net.Socket[] = [];

beforeEach(async () => {
  cabinet = await startDemoCabinet();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await cabinet.device.stop();
});

async function client(): Promise<FirmataClient> {
  const { io, socket } = await connectFirmataClient(cabinet.port);
  sockets.push(socket);
  return io;
}

describe('FirmataDeviceEmulator', () => {
  it('completes the firmata-io handshake quickly and describes itself as a Mega', async () => {
    const started = performance.now();
    const io = await client();
    expect(performance.now() - started).toBeLessThan(1000); // no 5 s wait for a version report
    expect(io.firmware.name).toBe('StandardFirmataWiFi.ino');
    expect(io.version).toEqual({ major: 2, minor: 5 });
    expect(io.pins).toHaveLength(70);
    expect(io.analogPins).toEqual(Array.from({ length: 16 }, (_, i) => 54 + i));
    expect(io.pins[2]!.supportedModes).toEqual(expect.arrayContaining([io.MODES.INPUT, io.MODES.OUTPUT, io.MODES.PULLUP]));
    expect(io.pins[60]!.supportedModes).toContain(io.MODES.ANALOG);
    expect(cabinet.device.hostConnected).toBe(true);
  });

  it('a relay pin written HIGH then LOW pulses the latch and the door springs open', async () => {
    const io = await client();
    io.pinMode(2, io.MODES.OUTPUT);
    io.digitalWrite(2, 1);
    await waitFor(() => cabinet.model.snapshot().A01!.relay, 1000, 'relay on');
    expect(cabinet.model.snapshot().A01).toMatchObject({ open: true, latchPulses: 1 });
    io.digitalWrite(2, 0);
    await waitFor(() => !cabinet.model.snapshot().A01!.relay, 1000, 'relay off');
  });

  it('SET_DIGITAL_PIN_VALUE drives a relay like a port write', async () => {
    const io = await client();
    io.pinMode(3, io.MODES.OUTPUT);
    io.transport.write(Uint8Array.from([0xf5, 3, 1]));
    await waitFor(() => cabinet.model.snapshot().A02!.relay, 1000, 'relay on');
    io.transport.write(Uint8Array.from([0xf5, 3, 0]));
    await waitFor(() => !cabinet.model.snapshot().A02!.relay, 1000, 'relay off');
  });

  it('answers a report request with the port state at once, then reports each change of an input', async () => {
    cabinet.model.force('A02'); // pin 27
    const io = await client();
    io.pinMode(26, io.MODES.PULLUP);
    io.pinMode(27, io.MODES.PULLUP);
    const seen: Array<[number, number]> = [];
    io.digitalRead(26, (v) => seen.push([26, v]));
    io.digitalRead(27, (v) => seen.push([27, v]));
    await waitFor(() => seen.some(([p]) => p === 27), 1000, 'first report');
    expect(io.pins[26]!.value).toBe(0);
    expect(io.pins[27]!.value).toBe(1);
    seen.length = 0;
    cabinet.model.force('A01');
    await waitFor(() => seen.some(([p, v]) => p === 26 && v === 1), 1000, 'open reported');
    cabinet.model.close('A01');
    await waitFor(() => seen.some(([p, v]) => p === 26 && v === 0), 1000, 'close reported');
  });

  it('answers a pin-state query with the level an output holds', async () => {
    const io = await client();
    io.pinMode(4, io.MODES.OUTPUT);
    io.digitalWrite(4, 1);
    await new Promise<void>((resolve) => io.queryPinState(4, () => resolve()));
    expect(io.pins[4]).toMatchObject({ mode: io.MODES.OUTPUT, state: 1 });
    io.digitalWrite(4, 0);
    await new Promise<void>((resolve) => io.queryPinState(4, () => resolve()));
    expect(io.pins[4]!.state).toBe(0);
  });

  it('parses messages split across TCP segments and ignores an unknown sysex', async () => {
    const io = await client();
    const bytes = [0xf0, 0x42, 0x01, 0x02, 0xf7, 0xf4, 5, 1, 0x90 | 0, 0x20, 0x00];
    for (const b of bytes) {
      io.transport.write(Uint8Array.from([b]));
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor(() => cabinet.model.snapshot().A04!.relay, 1000, 'relay on pin 5');
  });

  it('keeps relay outputs at their level when the host goes away, like a real board', async () => {
    const io = await client();
    io.pinMode(6, io.MODES.OUTPUT);
    io.digitalWrite(6, 1);
    await waitFor(() => cabinet.model.snapshot().A05!.relay, 1000, 'relay on');
    sockets[0]!.destroy();
    await waitFor(() => !cabinet.device.hostConnected, 1000, 'host gone');
    expect(cabinet.model.snapshot().A05!.relay).toBe(true);
    expect(cabinet.model.relayEnergisedMs('A05')).toBeGreaterThan(0);
  });

  it('a second client while a host is connected is closed at once; the host keeps the board', async () => {
    const host = await client();
    const hostSocket = sockets[0]!;
    const intruder = net.createConnection({ host: '127.0.0.1', port: cabinet.port });
    sockets.push(intruder);
    intruder.on('error', () => {});
    intruder.once('connect', () => intruder.write(Uint8Array.from([0xf4, 7, 1, 0xf5, 7, 1]))); // pin 7 OUTPUT, HIGH
    await new Promise((resolve) => intruder.once('close', resolve));
    await new Promise((r) => setTimeout(r, 30));
    expect(cabinet.model.snapshot().A06).toMatchObject({ relay: false, latchPulses: 0 });
    expect(hostSocket.destroyed).toBe(false);
    expect(cabinet.device.hostConnected).toBe(true);
    host.pinMode(8, host.MODES.OUTPUT);
    host.digitalWrite(8, 1);
    await waitFor(() => cabinet.model.snapshot().A07!.relay, 1000, 'the host still drives its relays');
  });

  it('with clients "replace" (StandardFirmataWiFi) a new client takes over and the old host gets an orderly close (FIN)', async () => {
    cabinet.device.clients = 'replace';
    await client();
    const first = sockets[0]!;
    const how = new Promise<string>((resolve) => {
      first.once('end', () => resolve('fin'));
      first.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    const io = await client();
    expect(await how).toBe('fin');
    expect(cabinet.device.hostConnected).toBe(true);
    io.pinMode(7, io.MODES.OUTPUT);
    io.digitalWrite(7, 1);
    await waitFor(() => cabinet.model.snapshot().A06!.relay, 1000, 'second host drives the relay');
  });

  it('a pulled cable resets the host\'s connection (RST), unlike the board\'s own close', async () => {
    await client();
    const how = new Promise<string>((resolve) => {
      sockets[0]!.once('end', () => resolve('fin'));
      sockets[0]!.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    cabinet.device.disconnect();
    expect(await how).toBe('ECONNRESET');
  });

  it('repeats its version report until the host speaks', async () => {
    const socket = net.createConnection({ host: '127.0.0.1', port: cabinet.port });
    sockets.push(socket);
    let versions = 0;
    socket.on('data', (chunk: Buffer) => {
      for (let i = 0; i + 2 < chunk.length; i++) if (chunk[i] === 0xf9 && chunk[i + 1] === 2 && chunk[i + 2] === 5) versions++;
    });
    await waitFor(() => versions >= 3, 1000, 'three version reports');
    socket.write(Uint8Array.from([0xf0, 0x79, 0xf7]));
    await new Promise((r) => setTimeout(r, 30));
    const after = versions;
    await new Promise((r) => setTimeout(r, 150));
    expect(versions).toBe(after);
  });

  it('with the cable pulled it drops the host and refuses new ones until the cable is back', async () => {
    await client();
    const hostEvents: boolean[] = [];
    cabinet.device.onHost((c) => hostEvents.push(c));
    cabinet.device.disconnect();
    expect(cabinet.device.cableConnected).toBe(false);
    await waitFor(() => sockets[0]!.destroyed, 1000, 'host dropped');
    const refused = net.createConnection({ host: '127.0.0.1', port: cabinet.port });
    sockets.push(refused);
    await new Promise((resolve) => refused.once('close', resolve));
    expect(hostEvents).toEqual([false]);
    cabinet.device.connect();
    const io = await client();
    expect(io.isReady).toBe(true);
  });

  it('a pin write reaches the model and the door report comes back within a few milliseconds', async () => {
    const io = await client();
    io.pinMode(8, io.MODES.OUTPUT);
    io.pinMode(32, io.MODES.PULLUP); // A07's switch
    let openedAt = 0;
    io.digitalRead(32, (v) => {
      if (v === 1 && !openedAt) openedAt = performance.now();
    });
    await waitFor(() => io.pins[32]!.report === 1, 1000);
    await new Promise((r) => setTimeout(r, 20));
    const written = performance.now();
    io.digitalWrite(8, 1);
    await waitFor(() => openedAt > 0, 1000, 'door report');
    io.digitalWrite(8, 0);
    expect(openedAt - written).toBeLessThan(50);
  });
});
