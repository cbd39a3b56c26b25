import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** bin/govlocker.js of this checkout, whether this file runs from the sources or from dist/. */
function findBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'bin', 'govlocker.js');
}
const BIN = findBin();

/**
 * `govlocker start` as a user runs it, in a fresh process with an empty data dir: milliseconds from spawn until
 * /api/v1/health answers with the board connected; then the resident memory after a few idle seconds.
 */
export async function measureColdStart(idleMs: number): Promise<{ readyMs: number; idleRssBytes: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'govlocker-cold-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_API_PORT: '0', GOVLOCKER_SIM_PORT: '0', GOVLOCKER_FIRMATA_PORT: '0', GOVLOCKER_SCANNER_PORT: '0', GOVLOCKER_ADMIN_TOKEN: 'bench', GOVLOCKER_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    let port = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`govlocker start exited with ${child.exitCode}: ${out}`);
      port ||= Number(/admin API\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? 0);
      if (port) {
        const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then((r) => r.json() as Promise<{ hardware: string }>).catch(() => null);
        if (health?.hardware === 'ok') break;
      }
      await new Promise((r) => setTimeout(r, 5));
      if (performance.now() - t0 > 30_000) throw new Error('not ready within 30 s');
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, idleMs));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const idleRssBytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    return { readyMs, idleRssBytes };
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
