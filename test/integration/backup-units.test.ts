import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seedCollectedCases } from '../support/cabinet-history.ts';
import { GOVLOCKER_BIN } from '../support/govlocker-process.ts';

// deploy/systemd/govlocker-backup.{service,timer}: valid units, and the service's commands, run as systemd
// would run them (its escapes undone, the install paths pointed at a test directory), make today's backup and
// keep the newest 14.

const UNITS = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));
const service = join(UNITS, 'govlocker-backup.service');
const timer = join(UNITS, 'govlocker-backup.timer');
const root = mkdtempSync(join(tmpdir(), 'govlocker-backup-units-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0;

/** The shell command of `Key=/bin/sh -c '…'` with systemd's `$$` and `%%` escapes undone. */
function shellOf(key: string): string {
  const line = readFileSync(service, 'utf8').split('\n').find((l) => l.startsWith(`${key}=/bin/sh -c '`));
  if (!line) throw new Error(`no ${key}=/bin/sh -c '…' in ${service}`);
  return line.slice(line.indexOf("'") + 1, line.lastIndexOf("'")).replaceAll('$$', '$').replaceAll('%%', '%');
}

describe('the daily backup units', () => {
  it.skipIf(!hasSystemdAnalyze)('pass systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', service, timer], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('run daily, catching up a day missed while the PC was off', () => {
    const text = readFileSync(timer, 'utf8');
    expect(text).toMatch(/^OnCalendar=\*-\*-\* \d\d:\d\d:00$/m);
    expect(text).toMatch(/^Persistent=true$/m);
    expect(readFileSync(service, 'utf8')).toMatch(/^User=govlocker$/m);
  });

  it("write today's backup (0600) and keep the newest 14", () => {
    const data = join(root, 'data');
    mkdirSync(data, { mode: 0o700 });
    seedCollectedCases(data, { cases: 20 });
    const config = join(root, 'cabinet.json');
    // The config's dataDir is not the one the unit names: --data wins, as GOVLOCKER_DATA_DIR does for the service.
    writeFileSync(config, JSON.stringify({ cabinetId: 'BY-HALL-03', dataDir: join(root, 'elsewhere') }));
    const backups = join(root, 'backups');
    mkdirSync(backups, { mode: 0o700 });
    // Twenty older days, and a file that is not a backup (never removed).
    for (let day = 1; day <= 20; day++) writeFileSync(join(backups, `govlocker-2020-01-${String(day).padStart(2, '0')}.glbak`), 'old');
    writeFileSync(join(backups, 'README.txt'), 'copied off-site nightly');

    const installed = (command: string) => command
      .replace('exec govlocker ', `exec '${process.execPath}' '${GOVLOCKER_BIN}' `)
      .replace('/etc/govlocker/cabinet.json', config)
      .replace('--data /var/lib/govlocker', `--data ${data}`)
      .replaceAll('/var/backups/govlocker', backups);
    for (const key of ['ExecStart', 'ExecStartPost']) execFileSync('/bin/sh', ['-c', installed(shellOf(key))], { stdio: 'pipe' });

    const today = execFileSync('date', ['+%Y-%m-%d'], { encoding: 'utf8' }).trim();
    const names = readdirSync(backups).sort();
    expect(names.filter((n) => n.endsWith('.glbak'))).toHaveLength(14);
    expect(names).toContain(`govlocker-${today}.glbak`);
    expect(names).toContain('README.txt');
    // The oldest went first.
    expect(names).not.toContain('govlocker-2020-01-07.glbak');
    expect(names).toContain('govlocker-2020-01-08.glbak');
    expect(statSync(join(backups, `govlocker-${today}.glbak`)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(backups, `govlocker-${today}.glbak`)).subarray(0, 300).toString('latin1')).toContain('"cabinetId":"BY-HALL-03"');

    // A second run the same day replaces that day's file.
    const first = readFileSync(join(backups, `govlocker-${today}.glbak`));
    execFileSync('/bin/sh', ['-c', installed(shellOf('ExecStart'))], { stdio: 'pipe' });
    expect(readdirSync(backups).filter((n) => n.endsWith('.glbak'))).toHaveLength(14);
    expect(readFileSync(join(backups, `govlocker-${today}.glbak`)).equals(first)).toBe(false);
  });
});
