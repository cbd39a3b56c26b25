import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The `govlocker` command as a user runs it: a child process of `node bin/govlocker.js`, its own process
// group (so a stuck child and anything it spawned can be killed as one), output captured.

export const GOVLOCKER_BIN = fileURLToPath(new URL('../../bin/govlocker.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The environment of a user's shell with none of the cabinet's variables leaking in from ours. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GOVLOCKER_') && k !== 'MQTT_URL') env[k] = v;
  return { ...env, ...extra };
}

/** Every port picked freely, logs at warn: what each test starts from. */
export const freePorts = { GOVLOCKER_API_PORT: '0', GOVLOCKER_SIM_PORT: '0', GOVLOCKER_FIRMATA_PORT: '0', GOVLOCKER_SCANNER_PORT: '0', GOVLOCKER_MQTT_PORT: '0', GOVLOCKER_LOG_LEVEL: 'warn' };

const live = new Set<ChildProcess>();

/** SIGKILLs the process group of every child still running; for afterAll/afterEach. */
export function killAllChildren(): void {
  for (const child of live) killGroup(child);
  live.clear();
}

export interface Exit { readonly code: number | null; readonly signal: NodeJS.Signals | null }

/** `promise`, or `onTimeout()`'s error after `ms`; the timer never outlives the race. */
async function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const killGroup = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
};

export interface GovlockerProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, in arrival order. */
  output(): string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Ctrl-C: SIGINT to the process group; resolves with the exit and how long it took. */
  interrupt(timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** `signal` to the process group (SIGTERM: what systemd, docker stop or kill send); the exit and how long it took. */
  terminate(signal: 'SIGINT' | 'SIGTERM', timeoutMs?: number): Promise<Exit & { ms: number }>;
}

export function spawnGovlocker(args: string[], env: Record<string, string>): GovlockerProcess {
  const child = spawn(process.execPath, [GOVLOCKER_BIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let all = '', out = '', err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; all += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; all += s; });
  const exited = new Promise<Exit>((resolve) => {
    // 'close' (not 'exit'): every byte of stdout/stderr has arrived by then.
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const terminate = async (signal: 'SIGINT' | 'SIGTERM', timeoutMs = 5000) => {
    const t0 = Date.now();
    process.kill(-child.pid!, signal);
    const exit = await within(exited, timeoutMs, () => new Error(`govlocker did not stop within ${timeoutMs} ms of ${signal}; output:\n${all}`));
    return { ...exit, ms: Date.now() - t0 };
  };
  return {
    child, exited,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    interrupt: (timeoutMs = 5000) => terminate('SIGINT', timeoutMs),
    terminate,
  };
}

/** A one-shot command (`users add`, `audit verify`, …): waits for it to end. */
export async function runGovlocker(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<Exit & { stdout: string; stderr: string }> {
  const p = spawnGovlocker(args, env);
  const exit = await within(p.exited, timeoutMs, () => {
    killGroup(p.child);
    return new Error(`govlocker ${args.join(' ')} did not finish within ${timeoutMs} ms; output:\n${p.output()}`);
  });
  return { ...exit, stdout: p.stdout(), stderr: p.stderr() };
}

export interface Banner {
  readonly kiosk: string;
  readonly clerk: string;
  readonly api: string;
  readonly metrics: string;
  readonly simulator: string;
  readonly firmataPort: number;
  readonly scannerPort: number;
}

/** Reads the URLs and ports `govlocker start` printed (see bin/run.ts). */
export function parseBanner(text: string): Banner | null {
  const m = (re: RegExp) => re.exec(text)?.[1];
  const kiosk = m(/^\s*kiosk\s+(http:\/\/\S+\/kiosk)\s*$/m);
  const clerk = m(/^\s*clerk station\s+(http:\/\/\S+\/clerk)\s*$/m);
  const api = m(/^\s*admin API\s+(http:\/\/\S+\/api\/v1)\b/m);
  const metrics = m(/^\s*metrics\s+(http:\/\/\S+\/metrics)\s*$/m);
  const simulator = m(/^\s*simulator\s+(http:\/\/[\d.]+:\d+)\//m);
  const firmata = m(/^\s*Firmata \(TCP\)\s+[\d.]+:(\d+)/m);
  const scanner = m(/^\s*scanner \(TCP\)\s+[\d.]+:(\d+)/m);
  if (!kiosk || !clerk || !api || !metrics || !simulator || !firmata || !scanner) return null;
  return { kiosk, clerk, api, metrics, simulator, firmataPort: Number(firmata), scannerPort: Number(scanner) };
}

/** The one-time admin token of a first start, if it was printed. */
export const printedAdminToken = (text: string): string | null => /First start: .*token.*\n\s*(\S+)/.exec(text)?.[1] ?? null;

export interface StartedCabinet extends GovlockerProcess {
  readonly banner: Banner;
}

/** `govlocker start` with every port free; resolves once the banner is printed. */
export async function startCabinet(env: Record<string, string>, timeoutMs = 15_000, args: string[] = []): Promise<StartedCabinet> {
  const p = spawnGovlocker(['start', ...args], { ...freePorts, ...env });
  let ended: Exit | null = null;
  void p.exited.then((e) => { ended = e; });
  const deadline = Date.now() + timeoutMs;
  let banner = parseBanner(p.stdout());
  while (!banner) {
    if (ended || Date.now() > deadline) {
      killGroup(p.child);
      throw new Error(`govlocker start ${ended ? `ended (${JSON.stringify(ended)})` : `printed no banner within ${timeoutMs} ms`}; output:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
    banner = parseBanner(p.stdout());
  }
  return Object.assign(p, { banner });
}

/** fetch with a bearer token and JSON body; the answer's JSON (or text). */
export async function call(url: string, options: { method?: string; token?: string | null; body?: unknown } = {}): Promise<{ status: number; json: any; text: string }> {
  const r = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await r.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return { status: r.status, json, text };
}
