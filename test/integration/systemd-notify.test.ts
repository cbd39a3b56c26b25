import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/cabinet-harness.ts';
import { call, freePorts, killAllChildren, spawnGovlocker } from '../support/govlocker-process.ts';
import { provisionedDataDir } from '../support/provisioned.ts';

// `govlocker controller` under systemd's eyes: a real unix datagram socket stands in for systemd's notify
// socket (socat writes every datagram it receives to a file, one per line), the controller drives the simulator's
// emulated Kerong bus over TCP, and sends its notifications with systemd's own systemd-notify helper.

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const dirs: string[] = [];
const receivers: ChildProcess[] = [];
afterAll(() => {
  killAllChildren();
  for (const r of receivers) r.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** socat on a unix datagram socket; the datagrams received so far, each as its text. */
async function notifyReceiver(dir: string): Promise<{ socket: string; received(): string[] }> {
  const socket = join(dir, 'notify.sock');
  const file = join(dir, 'notify.txt');
  writeFileSync(file, '');
  // A process per datagram (fork), each appending its datagram and a separator in one write. The helper's
  // barrier (a file descriptor systemd closes once it has read the messages) is not answered by socat, so the
  // helper gives up on it after 5 s; the messages have arrived by then.
  const record = join(dir, 'record.sh');
  writeFileSync(record, `printf '%s\\n--\\n' "$(cat)" >> '${file}'\n`);
  const socat = spawn('socat', ['-u', `UNIX-RECVFROM:${socket},fork`, `SYSTEM:sh ${record}`], { stdio: 'ignore' });
  receivers.push(socat);
  await until(() => existsSync(socket), 5000, 'the notify socket');
  return { socket, received: () => readFileSync(file, 'utf8').split('\n--\n').filter((d) => d !== '') };
}

describe.skipIf(!has('socat') || !has('systemd-notify'))('govlocker controller under systemd (Type=notify, WatchdogSec=)', () => {
  it('says READY=1 once the API answers, with a status line; WATCHDOG=1 every half period; STOPPING=1 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-notify-'));
    dirs.push(dir);
    const sim = spawnGovlocker(['simulate', '--board', 'kerong-cu'], { ...freePorts, GOVLOCKER_DATA_DIR: join(dir, 'sim') });
    await until(() => /lock boards \(TCP\)\s+127\.0\.0\.1:\d+/.test(sim.stdout()), 15_000, `the simulator's banner (output: ${sim.output()})`);
    const busPort = Number(/lock boards \(TCP\)\s+127\.0\.0\.1:(\d+)/.exec(sim.stdout())![1]);
    const config = join(dir, 'cabinet.json');
    const { dataDir } = await provisionedDataDir(dir, 'BY-HALL-03');
    writeFileSync(config, JSON.stringify({
      cabinetId: 'BY-HALL-03',
      dataDir,
      api: { host: '127.0.0.1', port: 0 },
      scanner: null,
      hardware: { driver: 'lockboard', bus: { protocol: 'kerong-cu', transport: { kind: 'tcp', host: '127.0.0.1', port: busPort } } },
      compartments: [{ id: 'A01', size: 'S', board: 0, channel: 1 }, { id: 'C01', size: 'L', board: 1, channel: 1 }],
    }));
    const notify = await notifyReceiver(dir);

    const controller = spawnGovlocker(['controller', '--config', config], { GOVLOCKER_LOG_LEVEL: 'warn', NOTIFY_SOCKET: notify.socket, WATCHDOG_USEC: '1000000' });
    await until(() => notify.received().some((d) => d.startsWith('READY=1')), 20_000, `READY=1 (output: ${controller.output()}; received: ${notify.received().join(' | ')})`);
    // Ready means ready: the API answers the moment systemd hears it.
    const api = /admin API\s+(http:\/\/\S+\/api\/v1)/.exec(controller.stdout())?.[1];
    expect(api, controller.output()).toBeDefined();
    expect((await call(`${api}/health`)).json).toMatchObject({ hardware: 'ok', mqtt: 'disabled' });
    expect(notify.received()).toContain('READY=1\nSTATUS=board ok, MQTT disabled');

    // Every 500 ms (half of WATCHDOG_USEC) while the event loop runs.
    const pings = () => notify.received().filter((l) => l === 'WATCHDOG=1').length;
    const t0 = Date.now();
    await until(() => pings() >= 4, 5000, `four WATCHDOG=1 (received: ${notify.received().join(' | ')})`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
    expect(notify.received()).not.toContain('STOPPING=1');

    const exit = await controller.terminate('SIGTERM', 8000);
    expect(exit.code, controller.output()).toBe(0);
    await until(() => notify.received().includes('STOPPING=1'), 3000, `STOPPING=1 (received: ${notify.received().join(' | ')})`);
    await sim.interrupt(8000);
  }, 60_000);

});
