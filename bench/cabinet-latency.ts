import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController } from '../bin/run.ts';
import { parseConfig } from '../controller/config/load.ts';
import { startSimulator } from '../simulator/simulator.ts';

const TOKEN = 'bench-admin-token';
const wait = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setImmediate(r));
};

/**
 * Load latency (clerk's scan → the controller senses the door open) and pickup latency (kiosk request →
 * every door of the case sensed open), through real HTTP, the real store (synchronous=FULL) and the
 * simulator over Firmata/TCP.
 */
export async function measureCabinetLatency(rounds: number): Promise<{ load: number[]; pickup: number[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-bench-'));
  const base = parseConfig({ dataDir }, {});
  const sim = await startSimulator({ compartments: base.compartments, controlPort: 0, firmataPort: 0, scannerPort: 0 });
  const config = parseConfig({
    dataDir, api: { host: '127.0.0.1', port: 0 }, policy: { kioskRequestsPer10s: 10_000 },
    hardware: { driver: 'firmata', transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.firmata } },
    scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: sim.ports.scanner } },
  }, {});
  const controller = await startController(config, { adminToken: TOKEN, logLevel: 'silent' });
  const api = `http://127.0.0.1:${controller.apiPort}/api/v1`;
  const post = async (path: string, body?: unknown, auth = true) => {
    const r = await fetch(api + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return r.json() as Promise<any>;
  };
  // Nobody re-opens a door within the switch's settle window of closing it; the bench does not either.
  const settle = () => new Promise((r) => setTimeout(r, config.hardware.debounceMs + 5));
  const sensed = new Map<string, number>();
  controller.cabinet.bus.events.add((e) => {
    if (e.type === 'door.opened') sensed.set(e.data.compartment as string, performance.now());
  });
  const load: number[] = [];
  const pickup: number[] = [];
  // The first rounds warm the JIT and the SQLite page cache; they are run but not counted.
  const warmup = 5;
  for (let i = 0; i < rounds + warmup; i++) {
    const counted = i >= warmup;
    const caseNo = `BENCH${String(i).padStart(5, '0')}`;
    // Every fifth case has three framed licences: two large compartments, so "every door" means two.
    const items = i % 5 === 4
      ? [1, 2, 3].map((n) => ({ type: 'licence-original', barcode: `${caseNo}-L${n}` }))
      : [{ type: 'seal', barcode: `${caseNo}-S`, label: '公章' }, { type: 'tax-device', barcode: `${caseNo}-T` }];
    await post('/cases', { caseNo, enterprise: { name: '基准测试有限公司', uscc: '91440101MA5CXY7A25' }, applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' }, items });
    for (const item of items) {
      await settle();
      sensed.clear();
      const t0 = performance.now();
      const l = await post('/loads', { barcode: item.barcode });
      const door = l.compartment as string;
      if (sim.model.snapshot()[door]!.open) continue; // joined an open door: no latency to measure
      await wait(() => sensed.has(door));
      if (counted) load.push(sensed.get(door)! - t0);
      await wait(() => !sim.model.snapshot()[door]!.relay);
      sim.model.close(door, { occupied: true });
      await wait(() => controller.cabinet.services.loading.state(l.loadId)!.state === 'committed');
    }
    const { code } = await post(`/cases/${caseNo}/notify`);
    await settle();
    sensed.clear();
    const t0 = performance.now();
    const answer = await post('/kiosk/pickup', { code, idSuffix: '011235' }, false);
    if (answer.result !== 'opened') throw new Error(`pickup refused: ${JSON.stringify(answer)}`);
    const doors = answer.compartments as string[];
    await wait(() => doors.every((d) => sensed.has(d)));
    if (counted) pickup.push(Math.max(...doors.map((d) => sensed.get(d)!)) - t0);
    for (const d of doors) {
      await wait(() => !sim.model.snapshot()[d]!.relay);
      sim.model.close(d, { occupied: false });
    }
    await wait(() => controller.cabinet.services.cases.view(caseNo)!.state === 'collected');
  }
  await controller.stop();
  await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return { load, pickup };
}
