import { LockboardBoard } from '../firmware-bridge/lockboard/lockboard-board.ts';
import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';

// A child process of bench/lockboard-idle.ts: the controller's lock-board driver alone, at its default timing,
// polling the bench's emulated bus, so process.cpuUsage() counts the driver (and Node under it) and nothing else.
// Told what to do in argv[2] (JSON); says when its window starts and what it measured over IPC.

export interface IdleDriverTask {
  readonly protocol: LockboardProtocol;
  readonly port: number;
  readonly locks: readonly { readonly board: number; readonly channel: number }[];
  readonly warmupMs: number;
  readonly windowMs: number;
}

export type IdleDriverMessage =
  | { readonly event: 'measuring' }
  | { readonly event: 'measured'; readonly userMs: number; readonly systemMs: number; readonly wallMs: number; readonly requests: number; readonly timeouts: number; readonly link: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (message: IdleDriverMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

if (process.send) {
  const task = JSON.parse(process.argv[2] ?? '{}') as IdleDriverTask;
  const board = new LockboardBoard({ bus: { protocol: task.protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: task.port } }, locks: task.locks });
  await board.start({ readyTimeoutMs: 10_000 });
  await sleep(task.warmupMs);
  const before = board.stats();
  await say({ event: 'measuring' });
  const cpu = process.cpuUsage();
  const started = performance.now();
  await sleep(task.windowMs);
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  const after = board.stats();
  await say({ event: 'measured', userMs: used.user / 1000, systemMs: used.system / 1000, wallMs, requests: after.requests - before.requests, timeouts: after.timeouts - before.timeouts, link: board.link });
  await board.stop();
  process.disconnect();
}
