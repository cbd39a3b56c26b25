import net from 'node:net';
import { DEFAULT_TIMING, LockboardBoard } from '../firmware-bridge/lockboard/lockboard-board.ts';
import { protocolFor } from '../firmware-bridge/lockboard/protocols.ts';
import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';

// A child process of bench/lockboard-idle.ts: the controller's lock-board driver alone, at its default timing,
// polling the bench's emulated bus, so process.cpuUsage() counts the driver (and Node under it) and nothing else.
// Told what to do in argv[2] (JSON); says when its window starts and what it measured over IPC.
// With `floor`, no driver runs: a bare socket writes the same status queries at the same pace and waits for
// each reply's first bytes, which is what this machine charges for the exchanges alone (the driver's cost is
// what it adds to that).

export interface IdleDriverTask {
  readonly protocol: LockboardProtocol;
  readonly port: number;
  readonly locks: readonly { readonly board: number; readonly channel: number }[];
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly floor?: boolean;
}

export type IdleDriverMessage =
  | { readonly event: 'measuring' }
  | { readonly event: 'measured'; readonly userMs: number; readonly systemMs: number; readonly wallMs: number; readonly requests: number; readonly timeouts: number; readonly link: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (message: IdleDriverMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

interface Poller {
  stats(): { requests: number; timeouts: number };
  readonly link: string;
  stop(): Promise<void>;
}

async function startDriver(task: IdleDriverTask): Promise<Poller> {
  const board = new LockboardBoard({ bus: { protocol: task.protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: task.port } }, locks: task.locks });
  await board.start({ readyTimeoutMs: 10_000 });
  return board;
}

/** The same queries at the driver's default pace over a bare socket: no codec, queue, timers or bookkeeping. */
async function startFloor(task: IdleDriverTask): Promise<Poller> {
  const protocol = protocolFor({ protocol: task.protocol });
  const boards = [...new Set(task.locks.map((l) => l.board))].sort((a, b) => a - b);
  const queries = boards.flatMap((board) => protocol.readBoard(board, task.locks.filter((l) => l.board === board).map((l) => l.channel)).map((q) => q.bytes));
  // Reads straight into one reused buffer, as the driver's TCP link does: the cheapest way Node has to hear a reply.
  let answered: (() => void) | null = null;
  const socket = net.createConnection({
    host: '127.0.0.1',
    port: task.port,
    onread: { buffer: Buffer.allocUnsafe(4096), callback: () => (answered?.(), (answered = null), true) },
  });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  let requests = 0;
  let running = true;
  const reply = () => new Promise<void>((resolve) => (answered = resolve));
  const cycle = async (): Promise<void> => {
    const started = performance.now();
    for (const bytes of queries) {
      const answered = reply();
      socket.write(bytes);
      requests++;
      await answered;
    }
    if (running) setTimeout(() => void cycle(), Math.max(0, DEFAULT_TIMING.pollMs - (performance.now() - started)));
  };
  void cycle();
  return {
    stats: () => ({ requests, timeouts: 0 }),
    link: 'ok',
    stop: async () => {
      running = false;
      socket.destroy();
    },
  };
}

if (process.send) {
  const task = JSON.parse(process.argv[2] ?? '{}') as IdleDriverTask;
  const board = task.floor ? await startFloor(task) : await startDriver(task);
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
