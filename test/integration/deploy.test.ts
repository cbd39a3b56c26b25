import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STOP_DEADLINE_MS } from '../../bin/shutdown.ts';
import { loadConfig } from '../../controller/config/load.ts';

// What an installer puts on a cabinet PC: the service unit (checked by systemd itself), the install script (run
// only as a dry run into a temporary root: no user is made and systemctl is never called), the udev rule and
// the example config.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UNIT = join(ROOT, 'deploy/systemd/govlocker.service');
const INSTALL = join(ROOT, 'deploy/install.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const dirs: string[] = [];
const tempRoot = () => {
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-install-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const unit = readFileSync(UNIT, 'utf8');
const directive = (name: string) => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]!);

describe('deploy/systemd/govlocker.service', () => {
  it.skipIf(!has('systemd-analyze'))('passes systemd-analyze verify without a single warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toBe('');
  });

  it('is supervised: notify with a watchdog, restarted on failure but not for a refused config, stopped after the controller\'s own deadline', () => {
    expect(directive('Type')).toEqual(['notify']);
    expect(directive('NotifyAccess')).toEqual(['all']);
    expect(directive('WatchdogSec')).toEqual(['30s']);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(directive('RestartPreventExitStatus')).toEqual(['2']);
    expect(directive('ExecStart')).toEqual(['/usr/bin/env govlocker controller --config /etc/govlocker/cabinet.json']);
    expect(Number(directive('TimeoutStopSec')[0]!.replace(/s$/, '')) * 1000).toBeGreaterThan(DEFAULT_STOP_DEADLINE_MS);
  });

  it('runs as govlocker with the serial devices and nothing else: no capabilities, a read-only system', () => {
    expect(directive('User')).toEqual(['govlocker']);
    expect(directive('SupplementaryGroups')).toEqual(['dialout']);
    expect(directive('StateDirectory')).toEqual(['govlocker']);
    expect(directive('StateDirectoryMode')).toEqual(['0700']);
    expect(directive('CapabilityBoundingSet')).toEqual(['']);
    for (const [name, value] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['NoNewPrivileges', 'yes'], ['PrivateTmp', 'yes'], ['LockPersonality', 'yes'], ['DevicePolicy', 'closed']]) expect(directive(name!), name).toEqual([value]);
    expect(directive('RestrictAddressFamilies')).toEqual(['AF_UNIX AF_INET AF_INET6']);
    expect(directive('DeviceAllow')).toEqual(['char-ttyUSB rw', 'char-ttyACM rw', '/dev/govlocker-lockbus rw', '/dev/govlocker-idreader rw']);
    // V8's JIT writes executable memory: Node dies under MemoryDenyWriteExecute.
    expect(directive('MemoryDenyWriteExecute')).toEqual([]);
  });
});

describe('deploy/install.sh', () => {
  const dryRun = (root: string) => spawnSync('bash', [INSTALL, '--dry-run', '--prefix', root], { encoding: 'utf8', timeout: 30_000 });
  const steps = (out: string) => out.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));

  it('is valid bash', () => {
    const r = spawnSync('bash', ['-n', INSTALL], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('a dry run into an empty root prints every step and changes nothing', () => {
    const root = tempRoot();
    const r = dryRun(root);
    expect(r.status, r.stderr).toBe(0);
    const s = steps(r.stdout);
    expect(s).toContain(`useradd --root ${root} --system --user-group --home-dir /var/lib/govlocker --no-create-home --shell /usr/sbin/nologin govlocker`);
    expect(s).toContain(`cd ${root}/opt/govlocker.new && npm ci --no-audit --no-fund`);
    expect(s).toContain(`cd ${root}/opt/govlocker.new && npm prune --omit=dev --no-audit --no-fund`);
    expect(s).toContain(`mv ${root}/opt/govlocker.new ${root}/opt/govlocker`);
    expect(s).toContain(`ln -sfn /opt/govlocker/bin/govlocker.js ${root}/usr/local/bin/govlocker`);
    expect(s).toContain(`install -d -m 0750 -o root -g govlocker ${root}/etc/govlocker`);
    expect(s).toContain(`install -m 0640 -o root -g govlocker ${ROOT.replace(/\/$/, '')}/deploy/cabinet.example.json ${root}/etc/govlocker/cabinet.json`);
    expect(s).toContain(`install -d -m 0700 -o govlocker -g govlocker ${root}/var/lib/govlocker`);
    expect(s).toContain(`install -m 0644 ${ROOT.replace(/\/$/, '')}/deploy/systemd/govlocker.service ${root}/etc/systemd/system/`);
    expect(s).toContain(`install -m 0644 ${ROOT.replace(/\/$/, '')}/deploy/udev/99-govlocker.rules ${root}/etc/udev/rules.d/`);
    expect(s.find((l) => l.startsWith(`systemctl --root=${root} enable govlocker.service`))).toBeDefined();
    // A staged root has no running systemd: nothing is reloaded or started.
    expect(s.filter((l) => /daemon-reload|restart|--now|udevadm/.test(l))).toEqual([]);
    expect(r.stdout).toMatch(/^install: Node \d+\.\d+\.\d+ /m);
    expect(readdirSync(root)).toEqual([]);
  });

  it('run again over an installed root, it keeps the config and the udev rule and makes no second user', () => {
    const root = tempRoot();
    mkdirSync(join(root, 'etc/govlocker'), { recursive: true });
    mkdirSync(join(root, 'etc/udev/rules.d'), { recursive: true });
    mkdirSync(join(root, 'opt/govlocker'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ngovlocker:x:999:999::/var/lib/govlocker:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/govlocker/cabinet.json'), '{"cabinetId":"BY-HALL-03"}');
    writeFileSync(join(root, 'etc/udev/rules.d/99-govlocker.rules'), '# edited\n');
    const r = dryRun(root);
    expect(r.status, r.stderr).toBe(0);
    const s = steps(r.stdout);
    expect(s.filter((l) => l.startsWith('useradd'))).toEqual([]);
    expect(r.stdout).toMatch(/^install: user govlocker exists$/m);
    expect(s.filter((l) => l.includes('cabinet.example.json') || l.includes('99-govlocker.rules'))).toEqual([]);
    expect(s).toContain(`chmod 0640 ${root}/etc/govlocker/cabinet.json`);
    // The running version is kept beside the new one, for a rollback.
    expect(s).toContain(`mv ${root}/opt/govlocker ${root}/opt/govlocker.old`);
    expect(readFileSync(join(root, 'etc/govlocker/cabinet.json'), 'utf8')).toBe('{"cabinetId":"BY-HALL-03"}');
  });

  it('refuses unknown options', () => {
    const r = spawnSync('bash', [INSTALL, '--dry-run', '--force'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option --force/);
  });
});

describe('deploy/udev/99-govlocker.rules and deploy/cabinet.example.json', () => {
  it('name the lock-board adapter and the card reader by USB ids, group dialout, mode 0660', () => {
    const rules = readFileSync(join(ROOT, 'deploy/udev/99-govlocker.rules'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(rules.map((l) => /SYMLINK\+="([^"]+)"/.exec(l)?.[1])).toEqual(['govlocker-lockbus', 'govlocker-idreader']);
    for (const rule of rules) {
      expect(rule).toMatch(/^SUBSYSTEM=="tty", ATTRS\{idVendor\}=="[0-9a-f]{4}", ATTRS\{idProduct\}=="[0-9a-f]{4}", ATTRS\{serial\}=="[^"]+", /);
      expect(rule).toMatch(/GROUP="dialout", MODE="0660"$/);
    }
  });

  it('the example config is valid and uses the udev names and the service\'s data dir', () => {
    const config = loadConfig(join(ROOT, 'deploy/cabinet.example.json'), {});
    expect(config.dataDir).toBe('/var/lib/govlocker');
    expect(config.api.host).toBe('127.0.0.1');
    expect(config.hardware.driver === 'lockboard' && config.hardware.bus.transport).toMatchObject({ kind: 'serial', path: '/dev/govlocker-lockbus' });
    expect(config.idReader?.transport).toMatchObject({ kind: 'serial', path: '/dev/govlocker-idreader' });
  });
});
