// The kill loop's child process (test/integration/kill-loop.test.ts): starts the controller on a fixed data
// dir against the test's simulator, then runs a random workload through the service layer, the clerk and the
// applicant closing doors through the simulator's control API. One JSON line on stdout per ACKNOWLEDGED
// operation (written after the service returned success). The test SIGKILLs this process at random moments.
//
// argv[2]: JSON { dataDir, firmataPort, scannerPort, controlPort, seed }
// stdin: the test writes "go" once it has looked at the simulator after `ready`.
import { writeSync } from 'node:fs';
import { startController } from '../../bin/run.ts';
import { parseConfig } from '../../controller/config/load.ts';
import { Refusal } from '../../controller/domain/refusal.ts';
import type { ItemType } from '../../controller/domain/types.ts';

interface WorkerArgs { dataDir: string; firmataPort: number; scannerPort: number; controlPort: number; seed: number }
const args = JSON.parse(process.argv[2]!) as WorkerArgs;

// Synchronous writes: a line is on the pipe before the next operation starts, whatever kills us next.
const say = (line: Record<string, unknown>) => void writeSync(1, JSON.stringify(line) + '\n');
const ack = (op: string, data: Record<string, unknown>) => say({ t: 'ack', op, ...data });

let seed = args.seed >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 0x1_0000_0000;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const KILL_LOOP_ADMIN_TOKEN = 'kill-loop-admin-token-0123456789';
const KILL_LOOP_ID_SUFFIX = '011235';

const config = parseConfig({
  dataDir: args.dataDir,
  api: { host: '127.0.0.1', port: 0 },
  // No retry within a run (openTimeoutMs long), so every open gets exactly one pulse unless something is wrong.
  hardware: { driver: 'firmata', pulseMs: 40, debounceMs: 2, openTimeoutMs: 30_000, readyTimeoutMs: 5000, transport: { kind: 'tcp', host: '127.0.0.1', port: args.firmataPort } },
  scanner: { transport: { kind: 'tcp', host: '127.0.0.1', port: args.scannerPort } },
  // Wrong codes are part of the workload; keep the cabinet-wide guard out of the way.
  policy: { lockoutAfterFailures: 100, dailyFailureCeiling: 100_000 },
}, {});

const sim = `http://127.0.0.1:${args.controlPort}`;
const controller = await startController(config, { adminToken: KILL_LOOP_ADMIN_TOKEN, logLevel: 'silent' });
const cab = controller.cabinet;
const S = cab.services;
const repos = cab.context.repos;
const actor = 'admin';

say({ t: 'ready', pid: process.pid });
await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
});
process.stdin.pause();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(check: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`kill-loop worker: timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function simDoors(): Promise<Record<string, { open: boolean }>> {
  const r = await fetch(`${sim}/sim/state`);
  return ((await r.json()) as { doors: Record<string, { open: boolean }> }).doors;
}

/** The person closes a door the controller has seen open, and waits until the controller has seen it close. */
async function closeDoor(id: string): Promise<void> {
  await until(() => repos.compartments.get(id)?.door === 'open', 10_000, `${id} seen open`);
  const r = await fetch(`${sim}/sim/doors/${id}/close`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`kill-loop worker: closing ${id} answered ${r.status} ${await r.text()}`);
  await until(() => repos.compartments.get(id)?.door === 'closed', 10_000, `${id} seen closed`);
}

/** Every door standing open (left by the previous, killed run) is closed again, as the clerk would. */
async function closeOpenDoors(): Promise<void> {
  const doors = await simDoors();
  for (const [id, d] of Object.entries(doors)) if (d.open) await closeDoor(id);
}

let serial = 0;
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`.slice(-10).toUpperCase();
const itemPool: ItemType[] = ['seal', 'tax-device', 'invoice', 'licence-copy', 'other', 'seal'];

function createCase(): void {
  const caseNo = `KL-${runId}-${++serial}`;
  const n = 1 + Math.floor(rnd() * 3);
  const items = Array.from({ length: n }, (_, i) => ({ type: pick(itemPool), barcode: `${caseNo}-${i + 1}` }));
  S.cases.create({
    caseNo,
    enterprise: { name: '广州市白云某某科技有限公司', uscc: '91440101MA5CXY7A25' },
    applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' },
    items,
  }, actor);
  ack('case', { caseNo, barcodes: items.map((i) => i.barcode) });
}

async function retrieve(caseNo: string): Promise<void> {
  const { compartments } = S.retrieval.retrieve(caseNo, actor);
  ack('retrieve', { caseNo, compartments });
  for (const id of compartments) await closeDoor(id);
  await until(() => repos.cases.get(caseNo)?.state === 'retrieved', 10_000, `${caseNo} retrieved`);
  ack('retrieved', { caseNo });
}

/** The clerk's round: cases nobody can finish by themselves are retrieved, faulty compartments enabled. */
async function tidy(): Promise<void> {
  const opening = new Set((cab.store.db.prepare(`SELECT case_no FROM pickups WHERE state = 'opening'`).all() as { case_no: string }[]).map((r) => r.case_no));
  for (const c of repos.cases.list('picking-up')) if (!opening.has(c.caseNo)) await retrieve(c.caseNo);
  for (const comp of repos.compartments.all()) {
    if (comp.service === 'in-service') continue;
    const c = comp.caseNo ? repos.cases.get(comp.caseNo) : undefined;
    if (c && ['ready', 'overdue', 'awaiting-items', 'picking-up'].includes(c.state) && !repos.cases.items(c.caseNo).some((i) => i.state === 'loading')) await retrieve(c.caseNo);
    S.compartments.enable(comp.id, actor);
    ack('enabled', { compartment: comp.id });
  }
}

async function loadSome(caseNo: string): Promise<void> {
  const expected = repos.cases.items(caseNo).filter((i) => i.state === 'expected');
  const batch = expected.slice(0, 1 + Math.floor(rnd() * expected.length));
  const started: { loadId: string; compartment: string }[] = [];
  for (const item of batch) {
    try {
      const l = S.loading.start(item.barcode, actor);
      ack('load', { loadId: l.loadId, caseNo, barcode: item.barcode, compartment: l.compartment });
      started.push(l);
    } catch (error) {
      if (error instanceof Refusal && error.code === 'cabinet-full') {
        const ready = repos.cases.list('ready');
        if (ready.length > 0) await retrieve(ready[ready.length - 1]!.caseNo);
        break;
      }
      throw error;
    }
  }
  for (const id of new Set(started.map((l) => l.compartment))) await closeDoor(id);
  for (const l of started) {
    await until(() => S.loading.state(l.loadId)?.state === 'committed', 10_000, `load ${l.loadId} committed`);
    ack('load-committed', { loadId: l.loadId });
  }
}

async function pickup(caseNo: string): Promise<void> {
  const issued = S.cases.reissue(caseNo, actor);
  ack('notify', { caseNo });
  if (rnd() < 0.3 && S.pickup.guardStatus().consecutiveFailures < 50) {
    let wrong = issued.code;
    while (wrong === issued.code) wrong = String(Math.floor(rnd() * 1e8)).padStart(8, '0');
    const a = S.pickup.pickup({ code: wrong, idSuffix: KILL_LOOP_ID_SUFFIX }, 'kiosk');
    if (a.result === 'denied' && a.reason === 'invalid') ack('denied', {});
    if (rnd() < 0.3) return; // the applicant walks away; the code stays valid
  }
  const a = S.pickup.pickup({ code: issued.code, idSuffix: KILL_LOOP_ID_SUFFIX }, 'kiosk');
  if (a.result !== 'opened') {
    if (a.result === 'denied' && a.reason === 'out-of-service') await retrieve(caseNo);
    return;
  }
  ack('pickup', { caseNo, compartments: a.compartments });
  for (const id of a.compartments) await closeDoor(id);
  await until(() => repos.cases.get(caseNo)?.state === 'collected', 10_000, `${caseNo} collected`);
  ack('collected', { caseNo });
}

await closeOpenDoors();
await tidy();
for (;;) {
  const awaiting = repos.cases.list('awaiting-items');
  const ready = repos.cases.list('ready');
  const r = rnd();
  if (awaiting.length + ready.length < 3 || r < 0.2) createCase();
  else if (awaiting.length > 0 && (r < 0.6 || ready.length === 0)) await loadSome(pick(awaiting).caseNo);
  else if (ready.length > 0) await pickup(pick(ready).caseNo);
  await tidy();
}
