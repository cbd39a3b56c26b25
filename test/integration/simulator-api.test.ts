import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoCompartments } from '../../controller/config/demo-cabinet.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/simulator.ts';
import { openSseStream, type SseReader } from '../support/sse-reader.ts';
import { connectFirmataClient, waitFor, type FirmataClient } from './firmata-fixtures.ts';

// The simulator's control API (CONTRACT §5) as the person in front of the cabinet uses it: real HTTP, and the
// real firmata-io client and a TCP reader on the wire side, with no controller attached.

let sim: RunningSimulator;
const sockets: net.Socket[] = [];
const streams: SseReader[] = [];
const compartments = demoCompartments();
const lockOf = (id: string) => compartments.find((c) => c.id === id)!.lockChannel;
const sensorOf = (id: string) => compartments.find((c) => c.id === id)!.doorSensor;

beforeEach(async () => {
  sim = await startSimulator({ compartments, controlPort: 0, firmataPort: 0, scannerPort: 0 });
});
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const s of sockets.splice(0)) s.destroy();
  await sim.stop();
});

const url = (path: string) => `http://127.0.0.1:${sim.ports.control}${path}`;
async function post(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url(path), { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: r.status, json: await r.json() };
}
const state = async () => (await fetch(url('/sim/state'))).json() as Promise<{ board: string; doors: Record<string, { open: boolean; latchPulses: number; occupied: boolean; fault: string | null; sensorOpen: boolean }> }>;

async function firmataHost(): Promise<{ io: FirmataClient; socket: net.Socket }> {
  const host = await connectFirmataClient(sim.ports.firmata);
  sockets.push(host.socket);
  return host;
}

/** The controller's side of a latch pulse: relay pin HIGH, then LOW once the model saw it. */
async function pulse(io: FirmataClient, door: string): Promise<void> {
  const before = sim.model.snapshot()[door]!.latchPulses;
  io.pinMode(lockOf(door), io.MODES.OUTPUT);
  io.digitalWrite(lockOf(door), 1);
  await waitFor(() => sim.model.snapshot()[door]!.latchPulses === before + 1, 1000, `${door} relay on`);
  io.digitalWrite(lockOf(door), 0);
  await waitFor(() => !sim.model.snapshot()[door]!.relay, 1000, `${door} relay off`);
}

describe('GET /sim/state', () => {
  it('has the contract\'s shape for all 24 demo doors, all shut and untouched', async () => {
    const s = await state();
    expect(s.board).toBe('connected');
    const ids = ['A', 'B', 'C'].flatMap((col) => [1, 2, 3, 4, 5, 6, 7, 8].map((row) => `${col}0${row}`));
    expect(Object.keys(s.doors)).toEqual(ids);
    for (const door of Object.values(s.doors)) {
      expect(door).toMatchObject({ open: false, latchPulses: 0, occupied: false, fault: null });
    }
  });
});

describe('doors by hand', () => {
  it('force opens a closed door; close shuts it and can say an item is inside', async () => {
    const forced = await post('/sim/doors/A02/force');
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({ open: true, latchPulses: 0 });
    expect((await state()).doors.A02).toMatchObject({ open: true });

    const closed = await post('/sim/doors/A02/close', { occupied: true });
    expect(closed.status).toBe(200);
    expect(closed.json).toMatchObject({ open: false, occupied: true });
    await post('/sim/doors/A02/force');
    expect((await post('/sim/doors/A02/close')).json).toMatchObject({ open: false, occupied: true }); // no body: occupancy unchanged
    expect((await state()).doors.A02).toMatchObject({ open: false, occupied: true });
  });

  it('refuses what a person cannot do, with a message saying what', async () => {
    const shut = await post('/sim/doors/A01/close');
    expect(shut.status).toBe(409);
    expect(shut.json.error).toMatch(/A01 is already closed/);
    await post('/sim/doors/A01/force');
    const open = await post('/sim/doors/A01/force');
    expect(open.status).toBe(409);
    expect(open.json.error).toMatch(/A01 is already open/);

    for (const path of ['/sim/doors/Z99/force', '/sim/doors/Z99/close']) {
      const unknown = await post(path);
      expect(unknown.status, path).toBe(404);
      expect(unknown.json.error).toMatch(/Z99/);
    }
    const unknownFault = await post('/sim/faults', { door: 'Z99', fault: 'jam' });
    expect(unknownFault.status).toBe(404);
    expect(unknownFault.json.error).toMatch(/Z99/);
  });

  it('answers a bad body with 400 naming the field', async () => {
    const cases: [string, unknown, string][] = [
      ['/sim/doors/A01/close', { occupied: 'yes' }, 'occupied'],
      ['/sim/faults', { door: 'A03', fault: 'fire' }, 'fault'],
      ['/sim/faults', { door: 'a3', fault: 'jam' }, 'door'],
      ['/sim/scan', { text: '' }, 'text'],
    ];
    for (const [path, body, field] of cases) {
      const r = await post(path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.json.issues.map((i: { path: string }) => i.path), `${path} ${JSON.stringify(body)}`).toContain(field);
    }
    const badId = await post('/sim/doors/a1/force');
    expect(badId.status).toBe(400);
    expect(badId.json.issues[0]).toMatchObject({ path: 'id', message: expect.stringContaining('A01') });
    const notJson = await fetch(url('/sim/scan'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toMatch(/not valid JSON/);
    expect(Object.values((await state()).doors).every((d) => !d.open && d.fault === null)).toBe(true);
  });
});

describe('faults, seen from the Firmata wire', () => {
  it('a jammed lock counts the pulse but stays shut; clearing the fault lets the next pulse open it', async () => {
    const jam = await post('/sim/faults', { door: 'A03', fault: 'jam' });
    expect(jam.status).toBe(200);
    expect(jam.json).toMatchObject({ fault: 'jam' });
    const { io } = await firmataHost();
    await pulse(io, 'A03');
    expect((await state()).doors.A03).toMatchObject({ latchPulses: 1, open: false, fault: 'jam' });

    expect((await post('/sim/faults', { door: 'A03', fault: null })).json).toMatchObject({ fault: null });
    await pulse(io, 'A03');
    expect((await state()).doors.A03).toMatchObject({ latchPulses: 2, open: true, fault: null });
  });

  it('a stuck sensor keeps reporting the old level to the host while the door moves', async () => {
    const { io } = await firmataHost();
    const levels = new Map<number, number>();
    for (const door of ['A04', 'A05']) {
      io.pinMode(sensorOf(door), io.MODES.PULLUP);
      io.digitalRead(sensorOf(door), (v) => levels.set(sensorOf(door), v));
    }
    await waitFor(() => levels.has(sensorOf('A04')) && levels.has(sensorOf('A05')), 1000, 'first reports');

    expect((await post('/sim/faults', { door: 'A04', fault: 'sensor-stuck' })).status).toBe(200);
    await post('/sim/doors/A04/force');
    await post('/sim/doors/A05/force'); // a healthy switch beside it, to know reports are flowing
    await waitFor(() => levels.get(sensorOf('A05')) === 1, 1000, 'A05 reported open');
    await new Promise((r) => setTimeout(r, 60));
    expect(levels.get(sensorOf('A04'))).toBe(0);
    expect((await state()).doors.A04).toMatchObject({ open: true, sensorOpen: false, fault: 'sensor-stuck' });

    await post('/sim/faults', { door: 'A04', fault: null });
    await waitFor(() => levels.get(sensorOf('A04')) === 1, 1000, 'A04 tells the truth again');
  });
});

describe('the scanner', () => {
  it('POST /sim/scan reaches a connected TCP reader as one CRLF-terminated line', async () => {
    const reader = net.createConnection({ host: '127.0.0.1', port: sim.ports.scanner });
    sockets.push(reader);
    const received: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => received.push(chunk));
    await sim.scanner.waitForReaders(1, 2000);
    const r = await post('/sim/scan', { text: 'GLQ1.abcdefghijklmnopqrstuvwx 扫码' });
    expect(r).toEqual({ status: 200, json: { ok: true, readers: 1 } });
    await waitFor(() => Buffer.concat(received).includes('\r\n'), 1000, 'a line');
    expect(Buffer.concat(received).toString('utf8')).toBe('GLQ1.abcdefghijklmnopqrstuvwx 扫码\r\n');
  });
});

describe('the board cable', () => {
  it('disconnect drops the Firmata host and refuses new ones; connect lets a host in again', async () => {
    const { socket } = await firmataHost();
    expect(await post('/sim/board/disconnect')).toEqual({ status: 200, json: { board: 'disconnected' } });
    await waitFor(() => socket.destroyed, 1000, 'host dropped');
    expect((await state()).board).toBe('disconnected');
    await expect(connectFirmataClient(sim.ports.firmata)).rejects.toThrow(/closed/);

    expect(await post('/sim/board/connect')).toEqual({ status: 200, json: { board: 'connected' } });
    expect((await state()).board).toBe('connected');
    const { io } = await firmataHost();
    await pulse(io, 'B01');
    expect(sim.model.snapshot().B01).toMatchObject({ open: true, latchPulses: 1 });
  });
});

describe('a second Firmata client', () => {
  it('is refused by default; POST /sim/board/clients {"mode":"replace"} lets a new client take over, as StandardFirmataWiFi does', async () => {
    expect((await state())).toMatchObject({ firmataClients: 'refuse' });
    const { socket } = await firmataHost();
    await expect(connectFirmataClient(sim.ports.firmata)).rejects.toThrow(/closed/);
    expect(socket.destroyed).toBe(false);

    expect(await post('/sim/board/clients', { mode: 'replace' })).toEqual({ status: 200, json: { firmataClients: 'replace' } });
    expect((await state())).toMatchObject({ firmataClients: 'replace' });
    const ended = new Promise((resolve) => socket.once('end', resolve)); // the board's orderly close (FIN)
    const { io } = await firmataHost();
    await ended;
    await pulse(io, 'C02');

    expect(await post('/sim/board/clients', { mode: 'refuse' })).toEqual({ status: 200, json: { firmataClients: 'refuse' } });
    const bad = await post('/sim/board/clients', { mode: 'share' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/refuse.*replace/);
  });
});

describe('the live page', () => {
  it('GET / serves the cabinet picture and /sim/stream sends a new state frame when a door changes', async () => {
    const page = await fetch(url('/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<html/i);
    expect(html).toContain('/sim/stream');
    expect(html).toContain('/sim/doors/');
    expect(html).toMatch(/door/i);

    const live = await openSseStream(url('/sim/stream'));
    streams.push(live);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = JSON.parse((await live.next((f) => f.event === 'state', 2000, 'first state')).data);
    expect(first).toMatchObject({ board: 'connected', doors: { B05: { open: false } } });
    const seen = live.frames.length;
    await post('/sim/doors/B05/force');
    const next = await live.next((f) => f.event === 'state' && JSON.parse(f.data).doors.B05.open === true, 2000, 'B05 open frame', seen);
    expect(JSON.parse(next.data).doors.B05).toMatchObject({ open: true, latchPulses: 0 });
  });
});

describe('the scanner port', () => {
  it('when the default scanner port is taken, a second simulator picks a free one instead of failing', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
    const taken = (squatter.address() as net.AddressInfo).port;
    const other = await startSimulator({ compartments: demoCompartments(), controlPort: 0, firmataPort: 0, scannerPort: taken, scannerPortFallback: true });
    try {
      expect(other.ports.scanner).not.toBe(taken);
      expect(other.ports.scanner).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
    // Asked for explicitly (GOVLOCKER_SCANNER_PORT), a taken port is an error.
    await expect(startSimulator({ compartments: demoCompartments(), controlPort: 0, firmataPort: 0, scannerPort: taken })).rejects.toThrow(/EADDRINUSE/);
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  });
});
