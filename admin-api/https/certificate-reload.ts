import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import { checkServingCertificate, EXPIRY_WARNING_DAYS, type ServingCertificate } from '../../controller/config/serving-certificate.ts';

// A renewed certificate is served to new connections without a restart: the two files are polled (a stat every
// `intervalMs`, which also sees a file replaced by a rename), and once they have stopped changing for
// `settleMs` (a renewal writes the certificate and the key one after the other) the pair is checked and, when
// good, handed to the server. A bad pair is logged and the served certificate kept. Once a day the served
// certificate's end is looked at, so a long-running cabinet warns in time.

const DAY_MS = 86_400_000;

export interface CertificateWatchOptions {
  readonly files: { readonly cert: string; readonly key: string };
  /** What is being served now. */
  readonly current: ServingCertificate;
  /** Puts a checked pair in service (the HTTPS server's setSecureContext). */
  readonly apply: (certificate: ServingCertificate) => void;
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly settleMs?: number;
  readonly now?: () => Date;
  /** How often the served certificate's end is looked at while nothing changes (ms; default daily). */
  readonly expiryCheckMs?: number;
}

export interface CertificateWatch {
  /** Stops watching; no timer is left behind. */
  stop(): void;
}

/** What the log says about a certificate: never the key. */
export const describeCertificate = (c: ServingCertificate) => ({ fingerprint256: c.fingerprint256, validTo: c.validTo.toISOString(), names: c.names });

export function watchCertificate(options: CertificateWatchOptions): CertificateWatch {
  const { files, apply, log } = options;
  const intervalMs = options.intervalMs ?? 5000;
  // Long enough that both files' pollers have seen a renewal that wrote them one after the other.
  const settleMs = options.settleMs ?? Math.round(intervalMs * 1.5);
  const now = options.now ?? (() => new Date());
  let served = options.current;
  let settling: NodeJS.Timeout | undefined;

  const check = () => {
    settling = undefined;
    const result = checkServingCertificate(files, now());
    if (!result.ok) {
      log.error({ problems: result.problems, served: served.fingerprint256 }, 'the certificate files changed but are not a usable pair: still serving the previous certificate');
      return;
    }
    const next = result.certificate;
    if (next.cert.equals(served.cert) && next.key.equals(served.key)) return;
    try {
      apply(next);
    } catch (error) {
      log.error({ err: (error as Error).message, served: served.fingerprint256 }, 'the renewed certificate was refused by TLS: still serving the previous certificate');
      return;
    }
    served = next;
    log.info({ ...describeCertificate(next) }, 'serving the renewed certificate to new connections');
    for (const warning of result.warnings) log.warn(warning);
  };

  const changed = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    clearTimeout(settling);
    settling = setTimeout(check, settleMs);
    settling.unref();
  };

  // A cabinet runs for months: the warning before the end must not wait for a restart or a renewal.
  const ending = setInterval(() => {
    const daysLeft = Math.floor((served.validTo.getTime() - now().getTime()) / DAY_MS);
    if (daysLeft < 0) log.error({ ...describeCertificate(served) }, `the served certificate expired on ${served.validTo.toISOString()}: browsers refuse it; renew ${files.cert} and ${files.key}`);
    else if (daysLeft < EXPIRY_WARNING_DAYS) log.warn({ ...describeCertificate(served) }, `the served certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}: renew ${files.cert} and ${files.key}; the cabinet picks up the new files without a restart`);
  }, options.expiryCheckMs ?? DAY_MS);
  ending.unref();

  // Not persistent: the watch never keeps the process alive by itself.
  for (const file of [files.cert, files.key]) watchFile(file, { interval: intervalMs, persistent: false }, changed);
  return {
    stop() {
      for (const file of [files.cert, files.key]) unwatchFile(file, changed);
      clearTimeout(settling);
      settling = undefined;
      clearInterval(ending);
    },
  };
}
