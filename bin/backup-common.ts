import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { constants } from 'node:os';

/** A backup or restore refused, with the reason in words the person running it can act on. */
export class CommandRefusal extends Error {}

/** `govlocker backup: …` on stderr, exit 2 (as every refused command line). */
export function refuse(command: string, message: string): never {
  process.stderr.write(`govlocker ${command}: ${message}\n`);
  process.exit(2);
}

/** A rename or a new file survives a power cut only once its directory is on disk too. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * While `path` (a work directory holding a copy of the database and keys) exists, Ctrl-C or SIGTERM removes it
 * before the process exits (128 + the signal's number). Returns the function that takes the handlers away.
 */
export function removeOnSignal(command: string, path: string): () => void {
  const handler = (signal: NodeJS.Signals) => {
    rmSync(path, { recursive: true, force: true });
    process.stderr.write(`govlocker ${command}: ${signal}: stopped; nothing was written\n`);
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
