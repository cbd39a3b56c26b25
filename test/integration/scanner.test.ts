import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportConfig } from '../../controller/config/schema.ts';
import { LineScanner, type LineRejection } from '../../firmware-bridge/scanner/line-scanner.ts';
import { ScannerDeviceEmulator } from '../../simulator/scanner-device.ts';

const fast = { minMs: 20, maxMs: 200 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A started LineScanner that records what it reads, what it rejects and what it logs. */
async function reader(transport: TransportConfig, maxLineLength?: number) {
  const logs: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const scanner = new LineScanner({ transport, logger, reconnect: fast, maxLineLength });
  const lines: string[] = [];
  const rejected: LineRejection[] = [];
  scanner.onLine((l) => lines.push(l));
  scanner.onRejected((r) => rejected.push(r));
  cleanups.push(() => scanner.stop());
  await scanner.start();
  return { scanner, lines, rejected, logs };
}

async function emulator(port = 0) {
  const device = new ScannerDeviceEmulator({ port });
  const actual = await device.start();
  cleanups.push(() => device.stop());
  return { device, port: actual };
}

describe('a line scanner over TCP, against the emulated scanner', () => {
  it('passes each scan on as one line, in order', async () => {
    const { device, port } = await emulator();
    const { lines, scanner } = await reader({ kind: 'tcp', host: '127.0.0.1', port });
    expect(scanner.link).toBe('ok');
    await device.waitForReaders(1);
    device.scan('12345678');
    device.scan('GLQ1.AbCdEfGhIjKlMnOpQrStUvWx');
    device.sendRaw(Buffer.from('BY2026'));
    device.sendRaw(Buffer.from('112300017\r'));
    device.sendRaw(Buffer.from('\n'));
    await until(() => lines.length === 3, 'three lines');
    expect(lines).toEqual(['12345678', 'GLQ1.AbCdEfGhIjKlMnOpQrStUvWx', 'BY2026112300017']);
  });

  it('rejects garbage and over-long lines without logging their content, and goes on reading', async () => {
    const { device, port } = await emulator();
    const { lines, rejected, logs } = await reader({ kind: 'tcp', host: '127.0.0.1', port }, 64);
    await device.waitForReaders(1);
    device.sendRaw(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x0d, 0x0a]));
    device.scan(`SECRET-${'9'.repeat(100)}`);
    device.scan('A01');
    await until(() => lines.length === 1, 'the line after the garbage');
    expect(lines).toEqual(['A01']);
    expect(rejected).toEqual([{ reason: 'binary', length: 4 }, { reason: 'too-long', length: 107 }]);
    const warnings = logs.filter((l) => l.msg === 'scanner line rejected');
    expect(warnings.map((l) => [l.level, l.reason])).toEqual([[40, 'binary'], [40, 'too-long']]);
    expect(JSON.stringify(logs)).not.toContain('SECRET');
  });

  it('reconnects after the scanner restarts, and logs the outage once', async () => {
    const first = await emulator();
    const { lines, scanner, logs } = await reader({ kind: 'tcp', host: '127.0.0.1', port: first.port });
    await first.device.waitForReaders(1);
    first.device.scan('before');
    await until(() => lines.length === 1, 'the first line');

    await first.device.stop();
    await until(() => scanner.link === 'lost', 'the link to be lost');
    await new Promise((resolve) => setTimeout(resolve, 300)); // several failed attempts meanwhile

    const second = await emulator(first.port);
    await second.device.waitForReaders(1);
    await until(() => scanner.link === 'ok', 'the link to come back');
    second.device.scan('after');
    await until(() => lines.length === 2, 'the line after the restart');
    expect(lines).toEqual(['before', 'after']);
    expect(logs.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(['scanner connection lost; reconnecting']);
    expect(logs.some((l) => l.msg === 'scanner connected again')).toBe(true);
  });

  it('starts quietly when no scanner is there, and stop() leaves no socket or timer behind', async () => {
    const free = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    const { scanner, logs } = await reader({ kind: 'tcp', host: '127.0.0.1', port: free });
    expect(scanner.link).toBe('lost');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(logs.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(['scanner not reachable; retrying in the background']);
    expect(logs.filter((l) => l.msg === 'scanner still not reachable').length).toBeGreaterThan(1);
    await scanner.stop();
    const after = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});

const socat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;

describe('a line scanner over a serial port', () => {
  it.skipIf(!socat)('reads lines from a real pseudo-terminal, and reopens it when the device comes back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'govlocker-tty-'));
    const host = join(dir, 'tty-host');
    const device = join(dir, 'tty-device');
    let pair: ChildProcess | null = null;
    const startPair = async () => {
      pair = spawn('socat', [`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], { stdio: 'ignore' });
      await until(() => existsSync(host) && existsSync(device), 'socat to make the pseudo-terminals');
    };
    const stopPair = async () => {
      const p = pair;
      pair = null;
      if (!p || p.exitCode !== null) return;
      await new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGTERM'); });
    };
    cleanups.push(async () => { await stopPair(); await rm(dir, { recursive: true, force: true }); });
    const type = async (text: string) => {
      const tty = await open(device, 'w');
      try { await tty.write(text); } finally { await tty.close(); }
    };

    await startPair();
    const { lines, scanner } = await reader({ kind: 'serial', path: host, baudRate: 9600 });
    expect(scanner.link).toBe('ok');
    await type('12345678\r\nGLQ1.serial\r');
    await until(() => lines.length === 2, 'two lines over the serial port');

    await stopPair();
    await until(() => scanner.link === 'lost', 'the serial port to close');
    await startPair();
    await until(() => scanner.link === 'ok', 'the serial port to reopen');
    await type('after\n');
    await until(() => lines.length === 3, 'a line after reopening');
    expect(lines).toEqual(['12345678', 'GLQ1.serial', 'after']);
  });

  it('keeps retrying, quietly, a serial device that is not plugged in', async () => {
    const { scanner, logs } = await reader({ kind: 'serial', path: join(tmpdir(), 'govlocker-no-such-tty'), baudRate: 9600 });
    expect(scanner.link).toBe('lost');
    await until(() => logs.some((l) => l.msg === 'scanner still not reachable'), 'a second attempt');
    expect(logs.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(['scanner not reachable; retrying in the background']);
  });

  if (!socat) it.skip('socat is not on PATH: install it (apt-get install -y socat) to test the real serial path', () => {});
});
