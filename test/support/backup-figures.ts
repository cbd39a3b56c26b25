// The backup and restore figures of README "Backup and restore": a data dir with N collected cases (default
// 100,000), then `govlocker backup` (plain and encrypted), `govlocker restore` and `govlocker audit verify` run
// as a user runs them, each timed from the outside; last, a backup while `govlocker start` runs on that data
// dir and a client creates cases one after another (how long a case takes before and during the backup), and
// that backup restored. Not part of `npm test` (about two and a half minutes for 100,000 cases):
//
//   npx tsx test/support/backup-figures.ts [cases]
//
// Prints one JSON object per line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseBody } from './cabinet-harness.ts';
import { seedCollectedCases } from './cabinet-history.ts';
import { call, GOVLOCKER_BIN, killAllChildren, runGovlocker, startCabinet } from './govlocker-process.ts';

const cases = Number(process.argv[2] ?? 100_000);
const root = mkdtempSync(join(tmpdir(), 'govlocker-backup-figures-'));
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

function timed(args: string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, [GOVLOCKER_BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return Math.round(performance.now() - t0);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! * 10) / 10;
};

/** `govlocker start` on the data dir, a client creating cases one after another, a backup meanwhile: the figures. */
async function underLoad(dataDir: string): Promise<void> {
  const token = 'figures-admin-token-0123456789';
  const cabinet = await startCabinet({ GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_ADMIN_TOKEN: token, GOVLOCKER_CABINET_ID: 'BY-HALL-03' }, 60_000);
  const latencies = { before: [] as number[], during: [] as number[] };
  const now: { phase: 'before' | 'during' | 'after' } = { phase: 'before' };
  let i = 0;
  const traffic = (async () => {
    for (let phase = now.phase; phase !== 'after'; phase = now.phase) {
      const t0 = performance.now();
      const r = await call(`${cabinet.banner.api}/cases`, { token, body: caseBody(`LOAD-${++i}`, [{ type: 'seal', barcode: `LOAD-${i}-S` }]) });
      if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
      latencies[phase].push(performance.now() - t0);
    }
  })();
  await new Promise((r) => setTimeout(r, 3000));
  now.phase = 'during';
  const file = join(root, 'live.glbak');
  const t0 = performance.now();
  const backup = await runGovlocker(['backup', '--data', dataDir, '--to', file], { GOVLOCKER_CABINET_ID: 'BY-HALL-03' }, 120_000);
  const ms = Math.round(performance.now() - t0);
  now.phase = 'after';
  await traffic;
  await cabinet.interrupt(10_000);
  if (backup.code !== 0) throw new Error(backup.stderr);
  for (const p of ['before', 'during'] as const) {
    say({ step: `case created ${p} the backup`, cases: latencies[p].length, p50ms: percentile(latencies[p], 50), p99ms: percentile(latencies[p], 99), maxMs: percentile(latencies[p], 100) });
  }
  say({ step: 'backup while the cabinet takes cases', ms, bytes: statSync(file).size });
  // That backup restores and its audit chain holds (timed() throws on a refusal).
  say({ step: 'restore of the backup taken under load', ms: timed(['restore', '--from', file, '--data', join(root, 'restored-live')]) });
}

try {
  const data = join(root, 'data');
  const t0 = performance.now();
  seedCollectedCases(data, { cases });
  say({ step: 'seed', cases, ms: Math.round(performance.now() - t0), databaseBytes: statSync(join(data, 'govlocker.db')).size });

  const plain = join(root, 'plain.glbak');
  say({ step: 'backup', cases, ms: timed(['backup', '--data', data, '--to', plain]), bytes: statSync(plain).size });
  const passphraseFile = join(root, 'passphrase');
  writeFileSync(passphraseFile, 'correct horse battery staple\n', { mode: 0o600 });
  const sealed = join(root, 'sealed.glbak');
  say({ step: 'backup --passphrase-file', cases, ms: timed(['backup', '--data', data, '--to', sealed, '--passphrase-file', passphraseFile]), bytes: statSync(sealed).size });

  say({ step: 'restore', cases, ms: timed(['restore', '--from', plain, '--data', join(root, 'restored')]) });
  say({ step: 'restore --passphrase-file', cases, ms: timed(['restore', '--from', sealed, '--data', join(root, 'restored-sealed'), '--passphrase-file', passphraseFile]) });
  say({ step: 'audit verify', cases, ms: timed(['audit', 'verify', '--data', join(root, 'restored')]) });
  await underLoad(data);
} finally {
  killAllChildren();
  rmSync(root, { recursive: true, force: true });
}
