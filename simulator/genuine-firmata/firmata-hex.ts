import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseIntelHex } from './intel-hex.ts';
import { UNO_FLASH_BYTES } from './uno-machine.ts';

// The genuine StandardFirmata for the Uno, exactly as a real board is flashed with it: the prebuilt hex that
// the avrgirl-arduino package ships. avrgirl-arduino itself cannot be a dependency (it pulls a package from a
// git URL), so its registry tarball is fetched with `npm pack` (that one file, no dependencies), the hex is
// taken out with `tar`, checked against the SHA-256 pinned here, and cached.

export const STANDARD_FIRMATA_UNO = {
  package: 'avrgirl-arduino',
  version: '5.0.1',
  /** Inside the tarball. */
  path: 'package/junk/hex/uno/StandardFirmata.cpp.hex',
  /** Of the .hex file; anything else is refused. It is StandardFirmata 2.4 (Firmata protocol 2.4). */
  sha256: '6d57ea7cf30e26c9c2f3a01ee37907d2c951f8bc9c27f84dddad12fa9c8b8f36',
} as const;

const CACHE_FILE = `${STANDARD_FIRMATA_UNO.package}-${STANDARD_FIRMATA_UNO.version}-uno-StandardFirmata.cpp.hex`;
const run = promisify(execFile);

/** The file could not be had, or is not the pinned one; the message says what to do. */
export class FirmwareUnavailableError extends Error {
  override readonly name = 'FirmwareUnavailableError';
}

/**
 * Where the hex is cached: `$GOVLOCKER_FIRMWARE_DIR`, else `node_modules/.cache/govlocker/firmware` of this
 * installation (found through an installed dependency, so it is the same from the sources and from dist/).
 */
export function firmwareCacheDir(): string {
  const fromEnv = process.env.GOVLOCKER_FIRMWARE_DIR;
  if (fromEnv) return fromEnv;
  const nodeModules = dirname(dirname(createRequire(import.meta.url).resolve('avr8js/package.json')));
  return join(nodeModules, '.cache', 'govlocker', 'firmware');
}

export function standardFirmataPath(): string {
  return join(firmwareCacheDir(), CACHE_FILE);
}

export interface LoadOptions {
  /** When the cache has no copy, fetch one from the npm registry (default true). */
  fetch?: boolean;
  /** Told before a download starts (it takes a few seconds). */
  log?: (line: string) => void;
}

/** The flash image of StandardFirmata for the Uno, from the cache or, the first time, from the npm registry. */
export async function loadStandardFirmata(options: LoadOptions = {}): Promise<Uint8Array> {
  const text = await ensureStandardFirmataHex(options);
  return parseIntelHex(text, UNO_FLASH_BYTES).bytes;
}

/** The pinned .hex text; fetched and cached when missing. Refuses a file whose SHA-256 differs. */
export async function ensureStandardFirmataHex(options: LoadOptions = {}): Promise<string> {
  const path = standardFirmataPath();
  const cached = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (cached) return verified(cached, path);
  if (options.fetch === false) {
    throw new FirmwareUnavailableError(`StandardFirmata for the Uno is not at ${path}; run \`npm run firmware:fetch\` (needs the npm registry)`);
  }
  options.log?.(`fetching StandardFirmata for the Uno from the npm registry (${STANDARD_FIRMATA_UNO.package}@${STANDARD_FIRMATA_UNO.version}) into ${path}`);
  const bytes = await fetchFromRegistry();
  const text = verified(bytes, `${STANDARD_FIRMATA_UNO.package}@${STANDARD_FIRMATA_UNO.version}:${STANDARD_FIRMATA_UNO.path}`);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.part`;
  await writeFile(partial, bytes);
  await rename(partial, path); // whole or not at all, even with two processes fetching at once
  return text;
}

function verified(bytes: Buffer, where: string): string {
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== STANDARD_FIRMATA_UNO.sha256) {
    throw new FirmwareUnavailableError(`${where} has SHA-256 ${digest}, not the pinned ${STANDARD_FIRMATA_UNO.sha256}: refused (delete it to fetch it again)`);
  }
  return bytes.toString('latin1');
}

/** `npm pack` of the one tarball (no dependencies, no install scripts), then `tar` of the one file. */
async function fetchFromRegistry(): Promise<Buffer> {
  const spec = `${STANDARD_FIRMATA_UNO.package}@${STANDARD_FIRMATA_UNO.version}`;
  const work = await mkdtemp(join(tmpdir(), 'govlocker-firmata-'));
  try {
    let tarball: string;
    try {
      const { stdout } = await run('npm', ['pack', spec, '--pack-destination', work, '--ignore-scripts', '--loglevel=error'], { timeout: 120_000 });
      tarball = join(work, stdout.trim().split('\n').pop() ?? '');
    } catch (error) {
      throw new FirmwareUnavailableError(`could not fetch ${spec} from the npm registry (npm pack): ${describe(error)}. ` +
        `On a machine that reaches the registry run \`npm run firmware:fetch\`, or put the file at ${standardFirmataPath()} (SHA-256 ${STANDARD_FIRMATA_UNO.sha256})`);
    }
    try {
      await run('tar', ['-xzf', tarball, '-C', work, STANDARD_FIRMATA_UNO.path], { timeout: 60_000 });
    } catch (error) {
      throw new FirmwareUnavailableError(`${spec} has no ${STANDARD_FIRMATA_UNO.path}: ${describe(error)}`);
    }
    return await readFile(join(work, STANDARD_FIRMATA_UNO.path));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** npm's own reason (its error code and message line), not its stack trace. */
function describe(error: unknown): string {
  const lines = ((error as { stderr?: string }).stderr ?? '').split('\n').map((line) => line.replace(/^npm (?:error|ERR!)\s*/, '').trim()).filter(Boolean);
  const telling = lines.filter((line) => /^code |Error:|^notarget No|^404/.test(line)).slice(0, 2);
  return (telling.length > 0 ? telling : lines.slice(0, 2)).join('; ') || (error as Error).message.trim();
}
