import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// A throw-away PKI for TLS tests, made with the `openssl` command as an operator would (deploy/mosquitto/README.md):
// CAs, a broker certificate for an IP address, client certificates whose CN is the MQTT user name, and a CRL.
// P-256 keys (fast to make), one-day validity, everything under the directory given.

export const OPENSSL_BIN = process.env.OPENSSL_BIN ?? 'openssl';

/** Throws a clear error when openssl cannot be run (tests must fail, not skip, without it). */
export function requireOpenssl(): string {
  try {
    return execFileSync(OPENSSL_BIN, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : `does not run (${(error as Error).message})`;
    throw new Error(`"${OPENSSL_BIN}" ${why}: the TLS tests make their certificates with it (apt-get install -y openssl, or set OPENSSL_BIN)`);
  }
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync(OPENSSL_BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed:\n${stderr}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface TestCa {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  /** Where this CA's CRL database lives (made on first revoke/gencrl). */
  readonly dir: string;
}

export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

export function makeCa(root: string, name: string): TestCa {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = this', '[this]',
    `database = ${join(dir, 'index.txt')}`, `crlnumber = ${join(dir, 'crlnumber')}`,
    'default_md = sha256', 'default_crl_days = 1', '',
  ].join('\n'));
  return { name, dir, cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** A leaf signed by `ca`: `ip` makes it a server certificate for that address, else a client certificate. */
export function issue(ca: TestCa, file: string, cn: string, o: { ip?: string } = {}): TestCert {
  const base = join(ca.dir, file);
  const ext = `${base}.ext`;
  writeFileSync(ext, [
    'basicConstraints = CA:FALSE',
    'keyUsage = critical, digitalSignature',
    o.ip ? `extendedKeyUsage = serverAuth\nsubjectAltName = IP:${o.ip}` : 'extendedKeyUsage = clientAuth',
    '',
  ].join('\n'));
  openssl(['req', '-new', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`], ca.dir);
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1',
    '-sha256', '-extfile', ext, '-out', `${base}.crt`], ca.dir);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/** Revokes `certs` (none: an empty list) and writes the CA's CRL; returns its path. */
export function writeCrl(ca: TestCa, revoked: readonly TestCert[] = []): string {
  const cnf = join(ca.dir, 'ca.cnf');
  for (const c of revoked) openssl(['ca', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-revoke', c.cert], ca.dir);
  const crl = join(ca.dir, 'ca.crl');
  openssl(['ca', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-gencrl', '-out', crl], ca.dir);
  return crl;
}
