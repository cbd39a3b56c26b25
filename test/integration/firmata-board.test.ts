import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HardwareUnavailableError, type FirmataBoard } from '../../firmware-bridge/firmata/index.ts';
import type { DoorEdge, LinkState } from '../../firmware-bridge/ports.ts';
import { FirmataDeviceEmulator } from '../../simulator/firmata-device.ts';
import { boardFor, connectFirmataClient, sleep, startDemoCabinet, waitFor, type DemoCabinet } from './firmata-fixtures.ts';

// The johnny-five driver against the emulated Mega over real TCP.

let cabinet: DemoCabinet;
let board: FirmataBoard | null = null;
let edges: DoorEdge[];
let links: LinkState[];

async function startBoard(overrides: Parameters<typeof boardFor>[1] = {}): Promise<FirmataBoard> {
  board = boardFor(cabinet, overrides);
  edges = [];
  links = [];
  board.doors.onEdge((e) => edges.push(e));
  board.onLink((s) => links.push(s));
  await board.start({ readyTimeoutMs: 3000 });
  return board;
}

/** Relay on/off times as the device saw them. */
function recordRelays() {
  const events: Array<{ id: string; on: boolean; t: number }> = [];
  const last = new Map<string, boolean>();
  cabinet.model.onChange((id) => {
    const on = cabinet.model.snapshot()[id]!.relay;
    if (last.get(id) === on) return;
    last.set(id, on);
    events.push({ id, on, t: performance.now() });
  });
  return events;
}

beforeEach(async () => {
  cabinet = await startDemoCabinet();
});
afterEach(async () => {
  await board?.stop();
  board = null;
  await cabinet.device.stop();
});

describe('FirmataBoard over TCP', () => {
  it('completes the handshake, reads every door switch and reports ok', async () => {
    cabinet.model.force('B02');
    const started = performance.now();
    const b = await startBoard();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(b.link).toBe('ok');
    expect(links).toEqual(['ok']);
    expect(b.doors.isOpen(cabinet.sensorOf('B02'))).toBe(true);
    expect(b.doors.isOpen(cabinet.sensorOf('A01'))).toBe(false);
    expect(b.doors.isOpen(99)).toBeNull();
    expect(edges).toEqual([]); // first knowledge is not an edge
  });

  it('a pulse energises the relay for pulseMs and then switches it off', async () => {
    const b = await startBoard({ pulseMs: 40 });
    const relays = recordRelays();
    await b.locks.pulse(cabinet.lockOf('A03'));
    // Resolved only after the board confirmed the output LOW: the device has it off already.
    expect(cabinet.model.snapshot().A03!.relay).toBe(false);
    expect(relays.map(({ id, on }) => [id, on])).toEqual([['A03', true], ['A03', false]]);
    const held = relays[1]!.t - relays[0]!.t;
    expect(held).toBeGreaterThanOrEqual(39); // timed from the board's confirmation of HIGH: never short
    expect(held).toBeLessThan(40 + 30);
  });

  it('a pulse opens the door and the door switch is reported as an edge', async () => {
    const b = await startBoard();
    const sensor = cabinet.sensorOf('A03');
    await b.locks.pulse(cabinet.lockOf('A03'));
    await waitFor(() => edges.length > 0, 1000, 'the open edge');
    expect(edges).toEqual([{ sensor, open: true, at: expect.any(Number) }]);
    expect(b.doors.isOpen(sensor)).toBe(true);
    expect(cabinet.model.snapshot().A03).toMatchObject({ open: true, latchPulses: 1 });
    cabinet.model.close('A03');
    await waitFor(() => edges.length === 2, 1000, 'the close edge');
    expect(edges[1]).toMatchObject({ sensor, open: false });
  });

  it('two pulses never overlap: the second relay energises only after the first is off', async () => {
    const b = await startBoard({ pulseMs: 30 });
    const relays = recordRelays();
    let energised = 0;
    let most = 0;
    cabinet.model.onChange(() => {
      energised = Object.values(cabinet.model.snapshot()).filter((d) => d.relay).length;
      most = Math.max(most, energised);
    });
    await Promise.all([b.locks.pulse(cabinet.lockOf('A01')), b.locks.pulse(cabinet.lockOf('A02')), b.locks.pulse(cabinet.lockOf('C08'))]);
    expect(most).toBe(1);
    expect(relays.map(({ id, on }) => `${id}${on ? '+' : '-'}`)).toEqual(['A01+', 'A01-', 'A02+', 'A02-', 'C08+', 'C08-']);
  });

  it('a jammed lock is pulsed but its door stays shut and no edge comes', async () => {
    const b = await startBoard();
    cabinet.model.setFault('A05', 'jam');
    await b.locks.pulse(cabinet.lockOf('A05'));
    await sleep(40);
    expect(edges).toEqual([]);
    expect(cabinet.model.snapshot().A05).toMatchObject({ open: false, latchPulses: 1, relay: false });
  });

  it('refuses a channel that is not one of its locks', async () => {
    const b = await startBoard();
    await expect(b.locks.pulse(60)).rejects.toThrowError(RangeError);
  });

  it('a relay left HIGH by a previous host is switched off on connect', async () => {
    const { io, socket } = await connectFirmataClient(cabinet.port);
    io.pinMode(cabinet.lockOf('B04'), io.MODES.OUTPUT);
    io.digitalWrite(cabinet.lockOf('B04'), 1);
    await waitFor(() => cabinet.model.snapshot().B04!.relay, 1000, 'the stray relay on');
    socket.destroy();
    await waitFor(() => !cabinet.device.hostConnected, 1000, 'the old host gone');
    expect(cabinet.model.relayEnergisedMs('B04')).toBeGreaterThan(0);
    await startBoard();
    // LOW is written before the switches are read, and ok waits for their reports: it is off by now.
    expect(cabinet.model.snapshot().B04!.relay).toBe(false);
    expect(cabinet.model.relayEnergisedMs('B04')).toBe(0);
  });

  it('a pulse given its door sensor ends when that door is seen open, so the next lock in line goes at once', async () => {
    const b = await startBoard({ pulseMs: 400 });
    const relays = recordRelays();
    const started = performance.now();
    await Promise.all(['A03', 'B03'].map((id) => b.locks.pulse(cabinet.lockOf(id), { doorSensor: cabinet.sensorOf(id) })));
    expect(performance.now() - started).toBeLessThan(200); // not two full 400 ms pulses
    expect(cabinet.model.snapshot().A03!.open && cabinet.model.snapshot().B03!.open).toBe(true);
    // Still one relay at a time: B03 goes on only after A03 is off.
    const offA = relays.find((e) => e.id === 'A03' && !e.on)!;
    const onB = relays.find((e) => e.id === 'B03' && e.on)!;
    expect(onB.t).toBeGreaterThanOrEqual(offA.t);
  });

  it('a door whose sensor already says open gets the full pulse (a lying sensor must not lock items in)', async () => {
    cabinet.model.force('A04');
    const b = await startBoard({ pulseMs: 150 });
    const started = performance.now();
    await b.locks.pulse(cabinet.lockOf('A04'), { doorSensor: cabinet.sensorOf('A04') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(cabinet.model.snapshot().A04!.latchPulses).toBe(1);
  });

  it('a door edge arrives at once, and a glitch within the settle window ends on the true level', async () => {
    const b = await startBoard({ debounceMs: 40 });
    const sensor = cabinet.sensorOf('A02');
    const forcedAt = Date.now();
    cabinet.model.force('A02');
    await waitFor(() => edges.length === 1, 1000, 'the open edge');
    expect(edges[0]).toMatchObject({ sensor, open: true });
    expect(edges[0]!.at - forcedAt).toBeLessThan(20); // reported on arrival, not after a hold time
    cabinet.model.close('A02'); // inside the 40 ms settle window
    await sleep(10);
    expect(edges).toHaveLength(1);
    await waitFor(() => edges.length === 2, 1000, 'the settled level');
    expect(edges[1]).toMatchObject({ sensor, open: false });
    expect(b.doors.isOpen(sensor)).toBe(false);
  });

  it('cable pulled: lost and pulses refused; cable back: ok, and a door that moved meanwhile is reported', async () => {
    const b = await startBoard();
    cabinet.device.disconnect();
    await waitFor(() => b.link === 'lost', 1000, 'lost');
    expect(b.lastLoss).toMatchObject({ cause: 'connection-lost' }); // a reset, not the board's own close
    const before = performance.now();
    await expect(b.locks.pulse(cabinet.lockOf('A01'))).rejects.toBeInstanceOf(HardwareUnavailableError);
    expect(performance.now() - before).toBeLessThan(20); // refused at once, not after a timeout
    expect(cabinet.model.snapshot().A01!.latchPulses).toBe(0);

    cabinet.model.force('C01'); // someone forces a door while the board is away
    await sleep(60); // a few failed reconnects
    expect(b.link).toBe('lost');
    cabinet.device.connect();
    await waitFor(() => b.link === 'ok', 2000, 'ok again');
    expect(links).toEqual(['ok', 'lost', 'ok']);
    await waitFor(() => edges.length === 1, 1000, 'the edge for the forced door');
    expect(edges[0]).toMatchObject({ sensor: cabinet.sensorOf('C01'), open: true });
    expect(b.doors.isOpen(cabinet.sensorOf('C01'))).toBe(true);
    await b.locks.pulse(cabinet.lockOf('A01'));
    expect(cabinet.model.snapshot().A01!.latchPulses).toBe(1);
  });

  it('a board that stops answering is declared lost by the heartbeat, and recovers', async () => {
    const b = await startBoard({ heartbeat: { intervalMs: 20, timeoutMs: 80 } });
    cabinet.device.disconnect('silent');
    await waitFor(() => b.link === 'lost', 1000, 'lost by heartbeat');
    expect(b.lastLoss).toMatchObject({ cause: 'no-answer' });
    cabinet.device.connect();
    await waitFor(() => b.link === 'ok', 2000, 'ok again');
  });

  it("a stall of the cabinet's own process (GC, a slow disk) is not taken for a silent board", async () => {
    const b = await startBoard({ heartbeat: { intervalMs: 20, timeoutMs: 80 } });
    await new Promise((r) => setTimeout(r, 100));
    const stalledUntil = performance.now() + 300; // the event loop blocked for 300 ms, nearly 4 × the timeout
    while (performance.now() < stalledUntil) { /* busy */ }
    await new Promise((r) => setTimeout(r, 200));
    expect(b.link).toBe('ok');
    expect(b.lastLoss).toBeNull();
    // A board that is really silent is still found out, on the next tick that comes on time.
    cabinet.device.disconnect('silent');
    await waitFor(() => b.link === 'lost', 1000, 'lost by heartbeat');
    cabinet.device.connect();
  });

  it('a second client is refused while the driver holds the board; nothing it writes reaches a relay', async () => {
    const b = await startBoard();
    const intruder = net.createConnection({ host: '127.0.0.1', port: cabinet.port });
    intruder.on('error', () => {});
    intruder.once('connect', () => intruder.write(Uint8Array.from([0xf5, cabinet.lockOf('B04'), 1])));
    await new Promise((resolve) => intruder.once('close', resolve));
    await sleep(50);
    expect(cabinet.model.snapshot().B04).toMatchObject({ relay: false, latchPulses: 0 });
    expect(b.link).toBe('ok');
    expect(links).toEqual(['ok']);
    expect(b.lastLoss).toBeNull();
  });

  it('a board that closes the link itself (another client took its slot) is lost as closed-by-board; the driver takes it back, relays LOW first', async () => {
    const b = await startBoard({ reconnect: { minMs: 200, maxMs: 300 } });
    cabinet.device.clients = 'replace'; // StandardFirmataWiFi: the newcomer takes the slot, the old client gets FIN
    cabinet.model.setFault('B04', 'jam'); // so the stray pulse leaves the door shut and only the relay tells
    const intruder = net.createConnection({ host: '127.0.0.1', port: cabinet.port });
    intruder.resume(); // reads what the board sends, so its close is seen
    const intruderClosed = new Promise<string>((resolve) => {
      intruder.once('end', () => resolve('fin'));
      intruder.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    intruder.once('connect', () => intruder.write(Uint8Array.from([0xf5, cabinet.lockOf('B04'), 1])));
    await waitFor(() => b.link === 'lost', 1000, 'lost');
    expect(b.lastLoss).toMatchObject({ cause: 'closed-by-board', reason: expect.stringMatching(/closed the connection/) });
    await waitFor(() => cabinet.model.snapshot().B04!.relay, 1000, 'the intruder energises a relay');
    await waitFor(() => b.link === 'ok', 2000, 'ok again');
    expect(await intruderClosed).toBe('fin'); // the board served the driver again and let the intruder go
    expect(cabinet.model.snapshot().B04!.relay).toBe(false);
    expect(links).toEqual(['ok', 'lost', 'ok']);
    intruder.destroy();
  });

  it('a link lost during a pulse rejects it, and the relay is off once the board is back', async () => {
    const b = await startBoard({ pulseMs: 80 });
    const pulse = b.locks.pulse(cabinet.lockOf('A06'));
    await waitFor(() => cabinet.model.snapshot().A06!.relay, 1000, 'relay on');
    cabinet.device.disconnect();
    await expect(pulse).rejects.toBeInstanceOf(HardwareUnavailableError);
    expect(cabinet.model.snapshot().A06!.relay).toBe(true); // the board keeps its outputs, as a real one does
    cabinet.device.connect();
    await waitFor(() => b.link === 'ok', 2000, 'ok again');
    expect(cabinet.model.snapshot().A06!.relay).toBe(false);
  });

  it('start rejects after readyTimeoutMs but keeps trying, and is ok once the board appears', async () => {
    const port = cabinet.port;
    await cabinet.device.stop();
    const b = boardFor(cabinet, { reconnect: { minMs: 10, maxMs: 20 } });
    board = b;
    await expect(b.start({ readyTimeoutMs: 100 })).rejects.toThrowError(/not ready within 100 ms.*still trying/);
    expect(b.link).toBe('connecting');
    cabinet.device = new FirmataDeviceEmulator(cabinet.model, { port });
    await cabinet.device.start();
    await waitFor(() => b.link === 'ok', 2000, 'ok once the board is there');
  });

  it('stop() switches relays off, closes the connection and leaves nothing running', async () => {
    // Timers and sockets still alive in this worker (the emulator's listening server is expected).
    const leftovers = () => process.getActiveResourcesInfo().filter((r) => /Timeout|Immediate|TCPSocketWrap|TCPConnectWrap|ShutdownWrap/.test(r));
    await waitFor(() => leftovers().length === 0, 1000, 'earlier tests to clean up');
    const b = await startBoard({ pulseMs: 200 });
    const pulse = b.locks.pulse(cabinet.lockOf('A07')).catch((e: unknown) => e);
    await waitFor(() => cabinet.model.snapshot().A07!.relay, 1000, 'relay on');
    cabinet.model.force('A08');
    await b.stop();
    board = null;
    expect(await pulse).toBeInstanceOf(HardwareUnavailableError);
    await waitFor(() => !cabinet.device.hostConnected, 1000, 'the device sees the host leave');
    expect(cabinet.model.snapshot().A07!.relay).toBe(false);
    await sleep(20);
    expect(leftovers()).toEqual([]);
    await expect(b.locks.pulse(cabinet.lockOf('A01'))).rejects.toBeInstanceOf(HardwareUnavailableError);
    await expect(b.start()).rejects.toThrowError(/stopped/);
  });

  it('stop() during a connect attempt to a silent address returns at once', async () => {
    // A listener that accepts and never speaks: the handshake would wait for its timeout.
    const mute = net.createServer(() => {});
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    const port = (mute.address() as net.AddressInfo).port;
    const b = boardFor(cabinet, { transport: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: 5000 });
    void b.start({ readyTimeoutMs: 5000 }).catch(() => {});
    await sleep(30);
    const before = performance.now();
    await b.stop();
    expect(performance.now() - before).toBeLessThan(200);
    await new Promise((r) => mute.close(r));
  });
});
