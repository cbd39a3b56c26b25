import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../controller/secrets/password-hash.ts';
import { AuditChain } from '../../controller/store/audit-chain.ts';
import { tokenHash } from '../../controller/store/users-repo.ts';
import { until } from '../support/cabinet-harness.ts';
import { call, freePorts, killAllChildren, runGovlocker, spawnGovlocker } from '../support/govlocker-process.ts';
import { provisionedDataDir } from '../support/provisioned.ts';

// A hall's IT staff provision the cabinet's data dir once, then run `govlocker controller` on it. The controller
// refuses what only the demo may use, each problem by the value that is wrong.

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-provision-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  killAllChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const mode = (file: string) => statSync(file).mode & 0o777;

/** A controller config for the hall: a Firmata board on a port nobody listens on (it starts degraded). */
function hallConfig(dir: string, values: Record<string, unknown>): string {
  const file = join(dir, 'cabinet.json');
  writeFileSync(file, JSON.stringify({
    api: { host: '127.0.0.1', port: 0 },
    scanner: null,
    hardware: { driver: 'firmata', readyTimeoutMs: 300, transport: { kind: 'tcp', host: '127.0.0.1', port: 1 } },
    compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 26 }],
    ...values,
  }));
  return file;
}

describe('govlocker provision', () => {
  it('makes the data dir private with its keys, a first admin whose one-time password works once printed, and the broker login', async () => {
    const dir = tempDir();
    const config = join(dir, 'cabinet.json');
    writeFileSync(config, JSON.stringify({ hardware: { driver: 'firmata' }, api: { port: 9443 } }), { mode: 0o640 });
    const dataDir = join(dir, 'data');
    const r = await runGovlocker(['provision', '--data', dataDir, '--cabinet', 'BY-HALL-03', '--admin', 'li.na', '--config', config, '--mqtt', 'mqtts://ops.example:8883'], {}, 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(dataDir)).toBe(0o700);
    expect(readdirSync(dataDir).sort()).toEqual(['command.key', 'govlocker.db', 'govlocker.db-shm', 'govlocker.db-wal', 'govlocker.key', 'provisioned.json'].filter((f) => existsSync(join(dataDir, f))).sort());
    for (const f of ['command.key', 'govlocker.db', 'govlocker.key', 'provisioned.json']) expect(mode(join(dataDir, f)), f).toBe(0o600);

    const password = /one-time password.*:\n\s+(\S+)/.exec(r.stdout)?.[1];
    expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{4}(-[A-HJ-NP-Za-km-z2-9]{4}){3}$/);
    const mqttPassword = /broker login: user "BY-HALL-03", password (\S+)/.exec(r.stdout)?.[1];
    expect(mqttPassword).toMatch(/^[\w-]{32}$/);
    const db = new Database(join(dataDir, 'govlocker.db'), { readonly: true });
    const admin = db.prepare('SELECT role, token_hash, password_hash, must_change FROM users WHERE name = ?').get('li.na') as { role: string; token_hash: string | null; password_hash: string; must_change: number };
    expect(admin).toMatchObject({ role: 'admin', token_hash: null, must_change: 1 });
    expect(await verifyPassword(password!, admin.password_hash)).toBe(true);
    expect(new AuditChain(db).verify()).toMatchObject({ ok: true });
    const actions = (db.prepare('SELECT action, data FROM audit ORDER BY seq').all() as { action: string; data: string }[]);
    expect(actions.map((a) => a.action)).toEqual(['cabinet.provisioned', 'user.added']);
    db.close();
    // No secret kept anywhere but the hash, and none in the audit.
    expect(actions.map((a) => a.data).join()).not.toContain(password!);
    expect(readFileSync(join(dataDir, 'provisioned.json'), 'utf8')).not.toContain(password!);

    // The existing config is completed (its own fields kept, its mode kept) and loads.
    const written = JSON.parse(readFileSync(config, 'utf8'));
    expect(written).toMatchObject({ cabinetId: 'BY-HALL-03', dataDir, api: { port: 9443 }, mqtt: { url: 'mqtts://ops.example:8883', username: 'BY-HALL-03', password: mqttPassword } });
    expect(mode(config)).toBe(0o640);
  });

  it('refuses a data dir already provisioned, one not empty, the demo id and a bad name, leaving each as it was', async () => {
    const dir = tempDir();
    const { dataDir } = await provisionedDataDir(dir, 'BY-HALL-04');
    const before = readdirSync(dataDir).sort();
    const again = await runGovlocker(['provision', '--data', dataDir, '--cabinet', 'BY-HALL-04'], {}, 20_000);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already provisioned/);
    expect(readdirSync(dataDir).sort()).toEqual(before);

    const used = join(dir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'notes.txt'), 'mine');
    const notEmpty = await runGovlocker(['provision', '--data', used, '--cabinet', 'BY-HALL-05'], {}, 20_000);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/is not empty \(notes\.txt\): provision into a new or empty directory/);
    expect(readdirSync(used)).toEqual(['notes.txt']);

    for (const [args, message] of [
      [['--cabinet', 'DEMO-01'], /DEMO-01 is the demo's id/],
      [['--cabinet', 'hall 3'], /--cabinet "hall 3" is not a cabinet id/],
      [['--cabinet', 'BY-HALL-06', '--admin', 'a b'], /--admin "a b" is not a name/],
      [['--cabinet', 'BY-HALL-06', '--mqtt', 'mqtt://ops:secret@broker:1883'], /--mqtt .* is not a broker URL/],
    ] as const) {
      const target = join(dir, 'fresh');
      const r = await runGovlocker(['provision', '--data', target, ...args], {}, 20_000);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(target)).toBe(false);
    }
    const missing = await runGovlocker(['provision', '--cabinet', 'BY-HALL-06'], {}, 20_000);
    expect(missing.stderr).toMatch(/provision needs --data DIR/);
  });
});

describe('govlocker controller refuses demo values (exit 2, naming each)', () => {
  it('the demo id, an unprovisioned data dir, GOVLOCKER_ADMIN_TOKEN and a broker without a login, all at once', async () => {
    const dir = tempDir();
    const file = hallConfig(dir, { cabinetId: 'DEMO-01', dataDir: join(dir, 'never-provisioned'), mqtt: { url: 'mqtt://127.0.0.1:1' } });
    const r = await runGovlocker(['controller', '--config', file], { GOVLOCKER_ADMIN_TOKEN: 'demo-token' }, 20_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/- cabinetId: DEMO-01 is the demo's id/);
    expect(r.stderr).toMatch(/- GOVLOCKER_ADMIN_TOKEN: set: it seeds a demo admin/);
    expect(r.stderr).toMatch(/- dataDir: .*never-provisioned was never provisioned: run govlocker provision --data/);
    expect(r.stderr).toMatch(/- mqtt\.url: the broker is reached without a login/);
    expect(existsSync(join(dir, 'never-provisioned', 'govlocker.db'))).toBe(false); // refused before anything was made
  });

  it('a data dir provisioned for another cabinet, or holding a user with the demo token', async () => {
    const dir = tempDir();
    const { dataDir } = await provisionedDataDir(dir, 'BY-HALL-07');
    const db = new Database(join(dataDir, 'govlocker.db'));
    db.prepare('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)').run('demo', 'admin', tokenHash('demo-token'), Date.now());
    db.close();
    const r = await runGovlocker(['controller', '--config', hallConfig(dir, { cabinetId: 'BY-HALL-08', dataDir })], {}, 20_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/- cabinetId: "BY-HALL-08", but .* was provisioned for BY-HALL-07/);
    expect(r.stderr).toMatch(/- users\.demo: the admin "demo" signs in with the demo token/);
  });

  it('a provisioned cabinet starts (degraded without its board) and its API answers', async () => {
    const dir = tempDir();
    const { dataDir } = await provisionedDataDir(dir, 'BY-HALL-09');
    const controller = spawnGovlocker(['controller', '--config', hallConfig(dir, { cabinetId: 'BY-HALL-09', dataDir })], { ...freePorts });
    await until(() => /admin API\s+http:\/\/\S+\/api\/v1/.test(controller.stdout()), 20_000, `the controller's banner (output: ${controller.output()})`);
    const api = /admin API\s+(http:\/\/\S+\/api\/v1)/.exec(controller.stdout())![1]!;
    const health = await call(`${api}/health`, { token: null });
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', hardware: 'lost' });
    expect(controller.stdout()).toMatch(/controller for cabinet BY-HALL-09/);
    // No token was printed: the first admin signs in with the provisioned password.
    expect(controller.stdout()).not.toMatch(/token/i);
    const exit = await controller.terminate('SIGTERM', 8000);
    expect(exit.code, controller.output()).toBe(0);
  });
});
