import { join } from 'node:path';
import { runGovlocker } from './govlocker-process.ts';

/** A data dir made as a hall's IT staff make one (`govlocker provision`), for `govlocker controller` to run on. */
export async function provisionedDataDir(parent: string, cabinetId: string): Promise<{ dataDir: string; adminPassword: string; stdout: string }> {
  const dataDir = join(parent, 'data');
  const r = await runGovlocker(['provision', '--data', dataDir, '--cabinet', cabinetId], {}, 20_000);
  if (r.code !== 0) throw new Error(`govlocker provision failed (${r.code}): ${r.stderr}`);
  const adminPassword = /one-time password.*:\n\s+(\S+)/.exec(r.stdout)?.[1];
  if (!adminPassword) throw new Error(`no one-time password in: ${r.stdout}`);
  return { dataDir, adminPassword, stdout: r.stdout };
}
