import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import type { FirmataBoard } from '../../firmware-bridge/firmata/index.ts';
import { boardFor, startDemoCabinet, waitFor, type DemoCabinet } from './firmata-fixtures.ts';

// The serial path for real: socat joins two pseudo-terminals, the emulated Mega on one end, the driver's
// serialport 13 SerialPort on the other.

const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

let socat: ChildProcess | null = null;
let dir = '';
let cabinet: DemoCabinet | null = null;
let board: FirmataBoard | null = null;
let devicePort: SerialPort | null = null;

afterEach(async () => {
  await board?.stop();
  await cabinet?.device.stop();
  if (devicePort?.isOpen) await new Promise((r) => devicePort!.close(r));
  socat?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
  board = null;
  cabinet = null;
  devicePort = null;
  socat = null;
});

describe.skipIf(!hasSocat)('FirmataBoard over a serial port', () => {
  it('handshakes through a flushing serial open (the device repeats its version) and pulses a lock', async () => {
    dir = mkdtempSync(join(tmpdir(), 'govlocker-tty-'));
    const host = join(dir, 'tty-host');
    const device = join(dir, 'tty-device');
    socat = spawn('socat', [`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], { stdio: 'ignore' });
    await waitFor(() => existsSync(host) && existsSync(device), 3000, 'socat ptys');

    cabinet = await startDemoCabinet();
    devicePort = new SerialPort({ path: device, baudRate: 57600 });
    await new Promise((resolve, reject) => devicePort!.once('open', resolve).once('error', reject));
    cabinet.device.attach(devicePort);

    board = boardFor(cabinet, { transport: { kind: 'serial', path: host, baudRate: 57600 } });
    const started = performance.now();
    await board.start({ readyTimeoutMs: 5000 });
    expect(performance.now() - started).toBeLessThan(2000); // not the 5 s version-report wait
    await board.locks.pulse(cabinet.lockOf('B01'));
    await waitFor(() => board!.doors.isOpen(cabinet!.sensorOf('B01')) === true, 1000, 'B01 reported open');
    expect(cabinet.model.snapshot().B01).toMatchObject({ open: true, latchPulses: 1, relay: false });
  });
});
