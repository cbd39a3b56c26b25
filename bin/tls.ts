import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CommandRefusal, refuse, removeOnSignal } from './backup-common.ts';

// `govlocker tls self-signed`: a first certificate for `api.tls`, made with Debian's `openssl` command as an
// operator would make it by hand: EC P-256, not a CA, for the names and addresses the clerk PCs use.

export const TLS_USAGE = 'usage: govlocker tls self-signed --data DIR [--host NAME …] [--days N] [--force]';

/** Longest validity: Apple's platforms refuse TLS server certificates valid for more than 825 days. */
export const MAX_DAYS = 825;
const DEFAULT_DAYS = 365;

export interface SelfSignedOptions {
  readonly dataDir: string;
  /** DNS names and IP addresses, in the order given; the first is also the certificate's CN. */
  readonly hosts: readonly string[];
  readonly days: number;
  readonly force: boolean;
}

export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint256: string;
  readonly validTo: Date;
  readonly names: string;
}

const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A host name or IP address as given to --host, or the reason it is not one. */
export function hostArg(text: string): string | CommandRefusal {
  const host = text.trim().toLowerCase();
  if (isIP(host)) return host;
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(host)) return new CommandRefusal(`--host "${text}" is a URL: give the host name or address alone, e.g. --host cabinet-03.hall.local`);
  if (/:\d+$/.test(host) && !host.includes('::')) return new CommandRefusal(`--host "${text}" has a port: give the host name or address alone (the certificate is good for every port)`);
  if (!DNS_NAME.test(host)) return new CommandRefusal(`--host "${text}" is neither a host name (letters, digits and "-", dot-separated, e.g. cabinet-03.hall.local) nor an IP address (e.g. 192.168.1.20)`);
  return host;
}

/** Without --host: this PC's name (when it is a valid DNS name), localhost and 127.0.0.1. */
export function defaultHosts(pcName = hostname()): string[] {
  const own = hostArg(pcName);
  return [...new Set([...(typeof own === 'string' ? [own] : []), 'localhost', '127.0.0.1'])];
}

function parseOptions(args: string[], env: NodeJS.ProcessEnv): SelfSignedOptions {
  const [sub, ...rest] = args;
  if (sub !== 'self-signed') throw new CommandRefusal(`${sub === undefined ? 'say what to make' : `unknown "${sub}"`}\n${TLS_USAGE}`);
  let values;
  try {
    ({ values } = parseArgs({ args: rest, strict: true, options: { data: { type: 'string' }, host: { type: 'string', multiple: true }, days: { type: 'string' }, force: { type: 'boolean' } } }));
  } catch (error) {
    throw new CommandRefusal(`${(error as Error).message}\n${TLS_USAGE}`);
  }
  const data = values.data ?? env.GOVLOCKER_DATA_DIR;
  if (!data) throw new CommandRefusal(`--data DIR names the cabinet's data directory (e.g. /var/lib/govlocker); the files go to DIR/tls/\n${TLS_USAGE}`);
  const hosts: string[] = [];
  for (const text of values.host ?? []) {
    const host = hostArg(text);
    if (host instanceof CommandRefusal) throw host;
    if (!hosts.includes(host)) hosts.push(host);
  }
  const daysText = values.days ?? String(DEFAULT_DAYS);
  if (!/^\d+$/.test(daysText) || Number(daysText) < 1 || Number(daysText) > MAX_DAYS) {
    throw new CommandRefusal(`--days is a whole number of days from 1 to ${MAX_DAYS} (browsers refuse longer server certificates), not "${daysText}"; renew before it ends`);
  }
  return { dataDir: resolve(data), hosts: hosts.length > 0 ? hosts : defaultHosts(), days: Number(daysText), force: values.force ?? false };
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync(process.env.OPENSSL_BIN ?? 'openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CommandRefusal(missing ? 'the openssl command is not installed: apt-get install -y openssl, then run this again' : `openssl could not be run: ${run.error.message}`);
  }
  if (run.status !== 0) throw new CommandRefusal(`openssl ${args[0]} failed (exit ${run.status}): ${run.stderr.trim()}`);
}

const altName = (host: string) => (isIP(host) ? `IP:${host}` : `DNS:${host}`);

/** Writes DIR/tls/cert.pem (0644) and DIR/tls/key.pem (0600): both at once, or neither. */
export function makeSelfSigned(o: SelfSignedOptions): SelfSigned {
  if (!existsSync(o.dataDir) || !statSync(o.dataDir).isDirectory()) {
    throw new CommandRefusal(`${o.dataDir} is not a directory: --data names the cabinet's data directory (make it with "govlocker provision", or the install)`);
  }
  const dir = join(o.dataDir, 'tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const present = [cert, key].filter((f) => existsSync(f));
  if (present.length > 0 && !o.force) throw new CommandRefusal(`${present.join(' and ')} exist${present.length === 1 ? 's' : ''} already: pass --force to replace ${present.length === 1 ? 'it' : 'them'} (a running cabinet then serves the new pair; clerk PCs must trust the new certificate)`);
  // Made as root for a cabinet that runs as its own user: the files are the data dir owner's.
  const owner = statSync(o.dataDir);
  const handOver = (path: string) => {
    if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(path, owner.uid, owner.gid);
  };
  let work: string;
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o700 });
      handOver(dir);
    }
    work = mkdtempSync(join(dir, '.new-'));
  } catch (error) {
    throw new CommandRefusal(`cannot write in ${o.dataDir} (${(error as NodeJS.ErrnoException).code ?? String(error)}): run this as the cabinet's user (sudo -u govlocker …) or as root`);
  }
  const stopWatching = removeOnSignal('tls', work);
  try {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256',
      '-keyout', 'key.pem', '-out', 'cert.pem', '-days', String(o.days), '-subj', `/CN=${o.hosts[0]}`,
      '-addext', `subjectAltName=${o.hosts.map(altName).join(',')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth'], work);
    chmodSync(join(work, 'key.pem'), 0o600);
    chmodSync(join(work, 'cert.pem'), 0o644);
    handOver(join(work, 'key.pem'));
    handOver(join(work, 'cert.pem'));
    const x509 = new X509Certificate(readFileSync(join(work, 'cert.pem')));
    // The key first: a running cabinet waits for both files to settle, then checks the pair.
    renameSync(join(work, 'key.pem'), key);
    renameSync(join(work, 'cert.pem'), cert);
    return { cert, key, fingerprint256: x509.fingerprint256, validTo: new Date(x509.validTo), names: x509.subjectAltName ?? '' };
  } finally {
    rmSync(work, { recursive: true, force: true });
    stopWatching();
  }
}

export function selfSignedReport(made: SelfSigned, days: number): string {
  const config = { api: { tls: { cert: made.cert, key: made.key } } };
  return [
    `wrote ${made.cert} (the certificate, 0644) and ${made.key} (its private key, 0600)`,
    `  for        ${made.names}`,
    `  valid      ${days} days, until ${made.validTo.toISOString().slice(0, 10)}`,
    `  SHA-256    ${made.fingerprint256}`,
    '',
    'add to the config file (merge "api" with what is there), then restart the cabinet; a cabinet whose config',
    'already names these files serves the new certificate within seconds, without a restart:',
    `  ${JSON.stringify(config)}`,
    '',
    'on each clerk PC: trust cert.pem (import it as a trusted certificate) after comparing its SHA-256 with the',
    'one above; the cabinet\'s own kiosk screen needs nothing (it uses the loopback kiosk listener).',
    '',
  ].join('\n');
}

/** `govlocker tls self-signed …`: exit 2 with the reason on any bad argument. */
export function tlsCommand(args: string[], env: NodeJS.ProcessEnv = process.env): void {
  try {
    const options = parseOptions(args, env);
    process.stdout.write(selfSignedReport(makeSelfSigned(options), options.days));
  } catch (error) {
    if (error instanceof CommandRefusal) refuse('tls', error.message);
    throw error;
  }
}
