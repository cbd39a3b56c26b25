import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';

// The serial path without hardware: socat joins two pseudo-terminals, the emulated bus holds one end open with
// serialport at the protocol's baud rate, and the controller opens the other as if it were /dev/ttyUSB0.

export interface LockboardPty {
  /** What the controller opens. */
  readonly hostPath: string;
  /** The bus's end, already open. */
  readonly port: SerialPort;
  close(): Promise<void>;
}

const LINK_WAIT_MS = 3000;

/** Starts socat and opens the bus's end. Rejects with a message saying what is missing when socat is not installed. */
export async function openLockboardPty(baudRate: number): Promise<LockboardPty> {
  const dir = mkdtempSync(join(tmpdir(), 'govlocker-lockboard-'));
  const hostPath = join(dir, 'lockboard-host');
  const devicePath = join(dir, 'lockboard-device');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: 'ignore' });
  const cleanUp = () => {
    if (socat.exitCode === null && socat.signalCode === null) socat.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForLinks(socat, [hostPath, devicePath]);
    const port = new SerialPort({ path: devicePath, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    return {
      hostPath,
      port,
      async close() {
        if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
        cleanUp();
      },
    };
  } catch (error) {
    cleanUp();
    throw error;
  }
}

function waitForLinks(socat: ChildProcess, paths: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + LINK_WAIT_MS;
    const fail = (message: string) => {
      clearInterval(poll);
      reject(new Error(message));
    };
    socat.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? 'the lock-board serial path needs socat (apt-get install socat)' : `socat failed: ${error.message}`));
    socat.once('exit', (code) => fail(`socat exited (${code}) before the pseudo-terminals were made`));
    const poll = setInterval(() => {
      if (paths.every((p) => existsSync(p))) {
        clearInterval(poll);
        socat.removeAllListeners('exit');
        resolve();
      } else if (performance.now() > deadline) {
        fail(`socat made no pseudo-terminals within ${LINK_WAIT_MS} ms`);
      }
    }, 5);
  });
}
