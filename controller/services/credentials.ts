import { hashDomains, newCredential, type RandomSource, cryptoRandom } from '../domain/credentials.ts';
import type { ChangeContext } from '../store/store.ts';
import type { ServiceContext } from './context.ts';
import { queueNotify } from './notify.ts';

export interface IssuedCredential {
  readonly code: string;
  readonly qr: string;
  readonly expiresAt: string;
}

interface ApplicantSecret { name: string; phone: string; idNumber: string }

/**
 * Issues pickup credentials: stores only their keyed hashes, revokes the previous one, and queues the
 * encrypted delivery for the SMS gateway (`…/notify`) in the same change.
 */
export class CredentialService {
  constructor(private readonly s: ServiceContext, private readonly random: RandomSource = cryptoRandom) {}

  /**
   * A new credential for the case (the previous one is revoked), queued for the SMS gateway as a `credential`.
   * `keepExpiry`: the new one expires when the old one did (a lost code sent again at the kiosk does not make
   * the items wait longer); otherwise it runs `policy.credentialTtlHours` from now.
   */
  issue(ctx: ChangeContext, caseNo: string, options: { keepExpiry?: boolean } = {}): IssuedCredential {
    const { cases } = this.s.repos;
    cases.revokeCredentials(caseNo);
    let credential = newCredential(this.random);
    // Two live cases must never share a keypad code.
    for (let i = 0; cases.codeInUse(this.hashCode(credential.code)); i++) {
      if (i > 20) throw new Error('could not draw an unused pickup code');
      credential = newCredential(this.random);
    }
    const kept = options.keepExpiry ? cases.get(caseNo)?.expiresAt ?? null : null;
    const expiresAtMs = kept ?? ctx.now + Math.round(this.s.config.policy.credentialTtlHours * 3_600_000);
    cases.insertCredential(caseNo, this.hashCode(credential.code), this.hashQr(credential.qr), ctx.now, expiresAtMs);
    cases.setState(caseNo, 'ready', kept === null ? { readyAt: ctx.now, expiresAt: expiresAtMs } : { expiresAt: expiresAtMs });
    const expiresAt = new Date(expiresAtMs).toISOString();
    const row = cases.get(caseNo)!;
    if (row.applicantEnc) {
      const applicant = this.s.keyring.decrypt<ApplicantSecret>(row.applicantEnc);
      queueNotify(this.s, ctx.now, { kind: 'credential', caseNo, phone: applicant.phone, code: credential.code, qr: credential.qr, expiresAt });
    }
    ctx.audit('cabinet', 'credential.issued', { caseNo, expiresAt });
    return { code: credential.code, qr: credential.qr, expiresAt };
  }

  hashCode(code: string): string {
    return this.s.keyring.lookupHash(hashDomains.code, code);
  }

  hashQr(qr: string): string {
    return this.s.keyring.lookupHash(hashDomains.qr, qr);
  }

  hashIdSuffix(suffix: string): string {
    return this.s.keyring.lookupHash(hashDomains.idSuffix, suffix.toUpperCase());
  }
}
