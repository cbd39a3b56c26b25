import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A real Mosquitto for the MQTT tests: its own process on a free loopback port, a generated config and
// persistence in a temp dir, stopped (SIGTERM: it writes its persistence file) and started again on the same
// port, as an ops broker restart would. Every broker started here is killed by `stop()` or, at the latest,
// when the test process exits, so none outlives the tests.

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Extra config lines, e.g. `max_queued_messages 0`. */
  readonly extraConfig?: readonly string[];
  /** How long to wait for the listener after a start. */
  readonly readyTimeoutMs?: number;
  /**
   * Replaces the generated config (anonymous clients on `listener {port} 127.0.0.1`, persistence in `dir`,
   * logging to stderr) by these lines, e.g. a deployment's config under test; `extraConfig` still follows. They
   * must open a listener on 127.0.0.1:`port` (the one waited for) and persist to `{dir}/mosquitto.db` (for
   * `save()`, `halt()` and `restart()`); run as root, they need `user root` to write there.
   */
  readonly config?: (broker: { readonly port: number; readonly dir: string }) => readonly string[];
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Whether the broker process is running now. */
  readonly running: boolean;
  /** The broker's log so far (all runs). */
  log(): string;
  /** A clean shutdown (SIGTERM): the broker saves retained messages and persistent sessions, then exits. */
  halt(): Promise<void>;
  /** A crash (SIGKILL): nothing is saved since the last autosave. */
  crash(): Promise<void>;
  /**
   * A hung broker (SIGSTOP): connections stay open but nothing is read or acknowledged. `crash()` after it
   * closes them with whatever was in flight unanswered; `thaw()` lets it run on.
   */
  freeze(): void;
  /** Writes the persistence file now (SIGUSR1), so sessions made so far survive a `crash()`. */
  save(): Promise<void>;
  thaw(): void;
  /** Starts it again on the same port with the same persistence. */
  restart(): Promise<void>;
  /** Kills it and removes its temp dir. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** A port nobody listens on right now (the broker binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { socket.destroy(); resolve(false); });
  });

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO_BIN)) throw new Error(`${MOSQUITTO_BIN} is missing: apt-get install -y mosquitto (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-mosquitto-'));
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  const generated = (): string[] => [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // QoS-1 hops on loopback otherwise stall ~40 ms on Nagle + delayed ACK.
    'set_tcp_nodelay true',
    'persistence true',
    `persistence_location ${dir}/`,
    'persistence_file mosquitto.db',
    // Started as root, Mosquitto drops to user "mosquitto", which cannot write our root-owned temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
  ];
  writeFileSync(configFile, [
    ...(options.config ? options.config({ port, dir }) : generated()),
    ...(options.extraConfig ?? []),
    '',
  ].join('\n'));

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const launch = async () => {
    const p = spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    live.add(p);
    let gone = false;
    exited = new Promise<void>((resolve) => p.once('exit', () => {
      gone = true;
      live.delete(p);
      if (child === p) child = null;
      resolve();
    }));
    const keep = (s: string) => { output = (output + s).slice(-20_000); };
    p.stdout!.setEncoding('utf8').on('data', keep);
    p.stderr!.setEncoding('utf8').on('data', keep);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 5000);
    while (!(await accepts(port))) {
      if (gone || Date.now() > deadline) {
        p.kill('SIGKILL');
        throw new Error(`mosquitto ${gone ? 'exited' : 'did not listen'} on 127.0.0.1:${port}; its log:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  let frozen = false;
  const signal = async (sig: NodeJS.Signals) => {
    const p = child as ChildProcess | null;
    if (!p) return;
    p.kill(sig);
    if (frozen) p.kill('SIGCONT');
    frozen = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    port, dir,
    url: `mqtt://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    log: () => output,
    halt: () => signal('SIGTERM'),
    crash: () => signal('SIGKILL'),
    freeze() {
      (child as ChildProcess | null)?.kill('SIGSTOP');
      frozen = child !== null;
    },
    async save() {
      const file = join(dir, 'mosquitto.db');
      const before = existsSync(file) ? statSync(file).mtimeMs : -1;
      (child as ChildProcess | null)?.kill('SIGUSR1');
      const deadline = Date.now() + 2000;
      while ((existsSync(file) ? statSync(file).mtimeMs : -1) === before) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not write ${file} after SIGUSR1; its log:\n${output}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    thaw() {
      if (frozen) (child as ChildProcess | null)?.kill('SIGCONT');
      frozen = false;
    },
    async restart() {
      await signal('SIGTERM');
      await launch();
    },
    async stop() {
      await signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
