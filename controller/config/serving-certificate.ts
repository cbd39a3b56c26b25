import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { ConfigProblem } from './load.ts';

// The HTTPS certificate of `api.tls`, checked the same way at start (a problem refuses the start) and on every
// renewal (a problem keeps the certificate being served). Only the files are read; nothing here serves.

/** A usable certificate and its key, with what the logs and the CLI say about it (never the key). */
export interface ServingCertificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 of the certificate, `AB:CD:…` as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  readonly validFrom: Date;
  readonly validTo: Date;
  /** The names it is good for, e.g. `DNS:cabinet-03, IP Address:192.168.1.20`. */
  readonly names: string;
}

export type CertificateCheck =
  | { readonly ok: true; readonly certificate: ServingCertificate; readonly warnings: string[] }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

/** A certificate closer to its end than this is warned about at start and on renewal. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

const MAKE_ONE = 'make one with "govlocker tls self-signed --data DIR"';

function readPem(file: string, what: string): { text: Buffer } | { message: string } {
  try {
    return { text: readFileSync(file) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === 'ENOENT') return { message: `${file} does not exist: give the path of ${what}, or ${MAKE_ONE}` };
    if (code === 'EACCES' || code === 'EPERM') return { message: `${file} may not be read by this user (${code}): let the cabinet's user read it (chown, chmod)` };
    if (code === 'EISDIR') return { message: `${file} is a directory: give the path of ${what} itself` };
    return { message: `cannot read ${file} (${code}): give the path of ${what}` };
  }
}

const CERT_BEGIN = /-----BEGIN CERTIFICATE-----/;
const KEY_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/;
const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

function parseCertificate(file: string, text: Buffer): X509Certificate | string {
  const pem = text.toString('latin1');
  if (!CERT_BEGIN.test(pem)) {
    if (KEY_BEGIN.test(pem)) return `${file} holds a private key, not a certificate: are cert and key swapped?`;
    return `${file} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line): convert a DER file with "openssl x509 -inform der -in FILE -out cert.pem", or ${MAKE_ONE}`;
  }
  try {
    return new X509Certificate(text);
  } catch (error) {
    return `${file} does not hold a readable certificate (${(error as Error).message}): give the PEM file your CA issued, or ${MAKE_ONE}`;
  }
}

function parseKey(file: string, text: Buffer): KeyObject | string {
  const pem = text.toString('latin1');
  if (ENCRYPTED.test(pem)) return `${file} is encrypted with a passphrase, which a service cannot type: store it without one ("openssl pkey -in ${file} -out key.pem", then chmod 600)`;
  if (!KEY_BEGIN.test(pem)) {
    if (CERT_BEGIN.test(pem)) return `${file} holds a certificate, not a private key: are cert and key swapped?`;
    return `${file} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line): give the key the certificate was made with`;
  }
  try {
    return createPrivateKey(text);
  } catch (error) {
    return `${file} does not hold a readable private key (${(error as Error).message}): give the key the certificate was made with`;
  }
}

const day = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Reads and checks `files`: both PEM, the certificate valid at `now`, the key the certificate's own. Every
 * problem names its field (`<field>.cert`, `<field>.key`) and what to do about it.
 */
export function checkServingCertificate(files: { readonly cert: string; readonly key: string }, now: Date, field = 'api.tls'): CertificateCheck {
  const problems: ConfigProblem[] = [];
  const certRead = readPem(files.cert, 'the server certificate (PEM)');
  const keyRead = readPem(files.key, 'the certificate\'s private key (PEM)');
  const x509 = 'text' in certRead ? parseCertificate(files.cert, certRead.text) : certRead.message;
  const key = 'text' in keyRead ? parseKey(files.key, keyRead.text) : keyRead.message;
  if (typeof x509 === 'string') problems.push({ path: `${field}.cert`, message: x509 });
  if (typeof key === 'string') problems.push({ path: `${field}.key`, message: key });
  if (typeof x509 === 'string' || typeof key === 'string' || !('text' in certRead) || !('text' in keyRead)) return { ok: false, problems };

  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  if (now < validFrom) {
    problems.push({ path: `${field}.cert`, message: `${files.cert} is not valid before ${day(validFrom)} (now: ${day(now)}): check this PC's clock (timedatectl), or make a certificate valid from today` });
  } else if (now > validTo) {
    problems.push({ path: `${field}.cert`, message: `${files.cert} expired on ${day(validTo)}: renew it (with your CA, or "govlocker tls self-signed --data DIR --force") and start again` });
  }
  if (!x509.checkPrivateKey(key)) {
    problems.push({ path: `${field}.key`, message: `${files.key} is not the private key of ${files.cert} (fingerprint ${x509.fingerprint256}): give the key the certificate was made with, or make a new pair` });
  }
  if (problems.length > 0) return { ok: false, problems };

  const warnings: string[] = [];
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS) warnings.push(`${field}.cert: ${files.cert} expires on ${day(validTo)} (in ${daysLeft} day${daysLeft === 1 ? '' : 's'}): renew it; the cabinet picks up the new files without a restart`);
  if (statSync(files.key).mode & 0o004) warnings.push(`${field}.key: ${files.key} may be read by every user of this PC: chmod 600 it (or 640 with the cabinet's group)`);
  return {
    ok: true, warnings,
    certificate: { cert: certRead.text, key: keyRead.text, fingerprint256: x509.fingerprint256, validFrom, validTo, names: x509.subjectAltName ?? `CN of ${x509.subject.replace(/\n/g, ', ')}` },
  };
}
