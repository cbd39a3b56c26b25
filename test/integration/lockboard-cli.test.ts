import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/cabinet-harness.ts';
import { call, freePorts, killAllChildren, runGovlocker, spawnGovlocker } from '../support/govlocker-process.ts';
import { provisionedDataDir } from '../support/provisioned.ts';

// The `govlocker` command on RS-485 lock boards, as an installer runs it: the whole cabinet on emulated boards
// (`start --board`), the simulator alone, and `hardware probe` against it.

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-lockboard-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  killAllChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const line = (text: string, label: string) => new RegExp(`^\\s*${label}\\s+(.+)$`, 'm').exec(text)?.[1];

describe('govlocker on lock boards', () => {
  it('start --board 8a80 runs the whole cabinet on an emulated 8A/80 bus: health ok, bus counters on /metrics; Ctrl-C stops it', async () => {
    const p = spawnGovlocker(['start', '--board', '8a80'], { ...freePorts, GOVLOCKER_DATA_DIR: tempDir() });
    await until(() => /admin API\s+http/.test(p.stdout()), 15_000, `the banner (output: ${p.output()})`);
    expect(line(p.stdout(), 'lock boards \\(TCP\\)')).toMatch(/^127\.0\.0\.1:\d+ {2}8a80, board 1 {2}board ok$/);
    expect(p.stdout()).not.toMatch(/Firmata \(TCP\)/);
    const api = /admin API\s+(http:\/\/\S+\/api\/v1)/.exec(p.stdout())![1]!;
    expect((await call(`${api}/health`)).json).toMatchObject({ hardware: 'ok' });
    const metrics = (await call(api.replace('/api/v1', '/metrics'))).text;
    expect(metrics).toMatch(/^govlocker_bus_replies_total\{cabinet="DEMO-01"\} [1-9]\d*$/m);
    const exit = await p.interrupt(8000);
    expect(exit.code).toBe(0);
  });

  it('hardware probe asks every address of an emulated Kerong bus, prints who answers, and opens nothing', async () => {
    const sim = spawnGovlocker(['simulate', '--board', 'kerong-cu'], { ...freePorts, GOVLOCKER_DATA_DIR: tempDir() });
    await until(() => /lock boards \(TCP\)\s+127\.0\.0\.1:\d+/.test(sim.stdout()), 15_000, `the simulator's banner (output: ${sim.output()})`);
    const port = /lock boards \(TCP\)\s+127\.0\.0\.1:(\d+)/.exec(sim.stdout())![1]!;
    const control = /control API and page\s+(http:\/\/\S+)\//.exec(sim.stdout())![1]!;
    const probe = await runGovlocker(['hardware', 'probe', '--protocol', 'kerong-cu', '--tcp', `127.0.0.1:${port}`, '--boards', '0,1,2'], {}, 20_000);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout).toMatch(/^kerong-cu bus on tcp:\/\/127\.0\.0\.1:\d+ \(line 19200 8N1.*nothing is opened$/m);
    expect(probe.stdout).toMatch(/^board 0: answers in \d+ ms, 16 locks/m);
    expect(probe.stdout).toMatch(/^board 1: answers in \d+ ms, 16 locks/m);
    expect(probe.stdout).toMatch(/^2 of 3 board addresses answered: 0–1; no answer from 2\.$/m);
    const state = (await call(`${control}/sim/state`)).json as { doors: Record<string, { latchPulses: number }>; bus: { refused: number } };
    expect(Object.values(state.doors).every((d) => d.latchPulses === 0)).toBe(true);
    expect(state.bus.refused).toBe(0);
    await sim.interrupt(8000);
  });

  it('a lock-board config that mixes drivers\' fields is refused at start, every problem by path', async () => {
    const dir = tempDir();
    const file = join(dir, 'cabinet.json');
    writeFileSync(file, JSON.stringify({
      hardware: { driver: 'lockboard', transport: { kind: 'tcp', host: '127.0.0.1', port: 3030 }, bus: { protocol: 'kerong-cu', transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 9600 } } },
      compartments: [{ id: 'A01', size: 'S', board: 0, channel: 1 }, { id: 'A02', size: 'S', board: 0, channel: 1 }, { id: 'A03', size: 'S', lockChannel: 2, doorSensor: 26 }],
    }));
    const r = await runGovlocker(['controller', '--config', file], { ...freePorts, GOVLOCKER_DATA_DIR: dir });
    expect(r.code).toBe(2);
    for (const path of ['hardware.transport', 'hardware.bus.transport.baudRate', 'compartments.1.channel', 'compartments.2.lockChannel']) expect(r.stderr).toContain(`- ${path}:`);
    const probe = await runGovlocker(['hardware', 'probe', '--protocol', 'rs232', '--tcp', '127.0.0.1:1'], {});
    expect(probe.code).toBe(2);
    expect(probe.stderr).toMatch(/--protocol is "8a80" or "kerong-cu"/);
  });

  it('a board the bus does not answer for, while the others on it do, is refused at start by name', async () => {
    // The emulated Kerong bus has boards 0 and 1 (the demo cabinet); the file names board 0 and board 5.
    const sim = spawnGovlocker(['simulate', '--board', 'kerong-cu'], { ...freePorts, GOVLOCKER_DATA_DIR: tempDir() });
    await until(() => /lock boards \(TCP\)\s+127\.0\.0\.1:\d+/.test(sim.stdout()), 15_000, `the simulator's banner (output: ${sim.output()})`);
    const port = Number(/lock boards \(TCP\)\s+127\.0\.0\.1:(\d+)/.exec(sim.stdout())![1]);
    const dir = tempDir();
    const file = join(dir, 'cabinet.json');
    writeFileSync(file, JSON.stringify({
      cabinetId: 'BY-HALL-03',
      api: { host: '127.0.0.1', port: 0 },
      scanner: null,
      hardware: { driver: 'lockboard', readyTimeoutMs: 3000, bus: { protocol: 'kerong-cu', transport: { kind: 'tcp', host: '127.0.0.1', port } } },
      compartments: [{ id: 'A01', size: 'S', board: 0, channel: 1 }, { id: 'A02', size: 'S', board: 0, channel: 2 }, { id: 'F01', size: 'M', board: 5, channel: 1 }, { id: 'F02', size: 'M', board: 5, channel: 2 }],
    }));
    const { dataDir } = await provisionedDataDir(dir, 'BY-HALL-03');
    const r = await runGovlocker(['controller', '--config', file], { GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_LOG_LEVEL: 'warn' }, 20_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/- compartments: board 5 \(F01, F02\) does not answer while board 0 on the same bus does: check its address switch and wiring with "govlocker hardware probe"/);
    await sim.interrupt(8000);
  });
});
