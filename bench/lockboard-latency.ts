import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController } from '../bin/run.ts';
import { parseConfig } from '../controller/config/load.ts';
import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';
import { startBenchBus } from './lockboard-bus.ts';

const TOKEN = 'bench-admin-token';
/** Polls `check` every millisecond; a round that never gets there fails the benchmark by name, not silently. */
const wait = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`lock-board latency: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
};

export interface LockboardLatency {
  /** `POST /loads` or `POST /kiosk/pickup` → the board has heard the open frame. */
  readonly openToFrame: number[];
  /** `POST /kiosk/pickup` → the controller has sensed the door open. */
  readonly pickupSensedOpen: number[];
  readonly pollMs: number;
  readonly baudRate: number;
}

/**
 * The real controller (HTTP, SQLite with synchronous=FULL, the lock-board driver at its default timing) on the
 * demo cabinet's lock boards of `protocol`, emulated with the line's real timing over TCP. Each round loads one
 * item (its door opens, the clerk shuts it) and collects it; the door state comes only from polling.
 */
export async function measureLockboardLatency(protocol: LockboardProtocol, rounds: number): Promise<LockboardLatency> {
  const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-bench-bus-'));
  const base = parseConfig({ dataDir, hardware: { driver: 'lockboard', bus: { protocol, transport: { kind: 'tcp', port: 0 } } } }, {});
  const doors = base.compartments.map((c) => ({ id: c.id, board: c.board!, channel: c.channel! }));
  const bus = await startBenchBus(protocol, doors);
  const config = parseConfig({
    dataDir, api: { host: '127.0.0.1', port: 0 }, policy: { kioskRequestsPer10s: 10_000 }, scanner: null,
    hardware: { driver: 'lockboard', bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: bus.port } } },
  }, {});
  if (config.hardware.driver !== 'lockboard') throw new Error('not a lock-board cabinet');
  const controller = await startController(config, { adminToken: TOKEN, logLevel: 'silent' });
  const api = `http://127.0.0.1:${controller.apiPort}/api/v1`;
  const post = async (path: string, body?: unknown, auth = true) => {
    const r = await fetch(api + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return r.json() as Promise<any>;
  };
  const sensed = new Map<string, number>();
  controller.cabinet.bus.events.add((e) => {
    if (e.type === 'door.opened') sensed.set(e.data.compartment as string, performance.now());
  });
  /** When the board heard the first open frame for `door` at or after `since`. */
  const frameHeard = (door: string, since: number) => {
    const entry = bus.device.log().find((e) => e.request === 'open' && e.door === door && bus.heardAt(e) >= since);
    return entry ? bus.heardAt(entry) : null;
  };
  const openToFrame: number[] = [];
  const pickupSensedOpen: number[] = [];
  const warmup = 3;
  // The driver holds the bus's next open until the board's own latch pulse has ended (latchMs), so two latches
  // are never energised together. A timed open waits that out first: the figure is the open's own path, not
  // the previous round's pulse.
  const latchOver = () => new Promise((resolve) => setTimeout(resolve, config.hardware.driver === 'lockboard' ? config.hardware.bus.latchMs : 0));
  for (let i = 0; i < rounds + warmup; i++) {
    const counted = i >= warmup;
    const caseNo = `BUSBENCH${String(i).padStart(5, '0')}`;
    await post('/cases', { caseNo, enterprise: { name: '基准测试有限公司', uscc: '91440101MA5CXY7A25' }, applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' }, items: [{ type: 'seal', barcode: `${caseNo}-S`, label: '公章' }] });
    sensed.clear();
    await latchOver();
    let t0 = performance.now();
    const load = await post('/loads', { barcode: `${caseNo}-S` });
    if (typeof load.compartment !== 'string') throw new Error(`round ${i}: load refused: ${JSON.stringify(load)}`);
    const loaded = load.compartment as string;
    await wait(() => sensed.has(loaded), `round ${i}: the loaded door ${loaded} sensed open`);
    await wait(() => frameHeard(loaded, t0) !== null, `round ${i}: the open frame for ${loaded} heard`);
    if (counted) openToFrame.push(frameHeard(loaded, t0)! - t0);
    bus.model.close(loaded, { occupied: true }); // seen shut at the next poll
    await wait(() => controller.cabinet.services.loading.state(load.loadId)?.state === 'committed', `round ${i}: the load committed`);

    const { code } = await post(`/cases/${caseNo}/notify`);
    sensed.clear();
    await latchOver();
    t0 = performance.now();
    const answer = await post('/kiosk/pickup', { code, idSuffix: '011235' }, false);
    if (answer.result !== 'opened') throw new Error(`pickup refused: ${JSON.stringify(answer)}`);
    const opened = answer.compartments as string[];
    await wait(() => opened.every((d) => sensed.has(d)), `round ${i}: the pickup's doors sensed open`);
    await wait(() => opened.every((d) => frameHeard(d, t0) !== null), `round ${i}: the pickup's open frames heard`);
    if (counted) {
      pickupSensedOpen.push(Math.max(...opened.map((d) => sensed.get(d)!)) - t0);
      openToFrame.push(...opened.map((d) => frameHeard(d, t0)! - t0));
    }
    for (const d of opened) bus.model.close(d, { occupied: false });
    await wait(() => controller.cabinet.services.cases.view(caseNo)?.state === 'collected', `round ${i}: the case collected`);
  }
  await controller.stop();
  await bus.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return { openToFrame, pickupSensedOpen, pollMs: config.hardware.bus.pollMs, baudRate: bus.baudRate };
}
