import { hashDomains, newCredential, type RandomSource, cryptoRandom } from '../domain/credentials.ts';
import type { ChangeContext } from '../store/store.ts';
import type { ServiceContext } from './context.ts';

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

  issue(ctx: ChangeContext, caseNo: string): IssuedCredential {
    const { cases } = this.s.repos;
    cases.revokeCredentials(caseNo);
    let credential = newCredential(this.random);
    // Two live cases must never share a keypad code.
    for (let i = 0; cases.codeInUse(this.hashCode(credential.code)); i++) {
      if (i > 20) throw new Error('could not draw an unused pickup code');
      credential = newCredential(this.random);
    }
    const expiresAtMs = ctx.now + Math.round(this.s.config.policy.credentialTtlHours * 3_600_000);
    cases.insertCredential(caseNo, this.hashCode(credential.code), this.hashQr(credential.qr), ctx.now, expiresAtMs);
    cases.setState(caseNo, 'ready', { readyAt: ctx.now, expiresAt: expiresAtMs });
    const expiresAt = new Date(expiresAtMs).toISOString();
    const row = cases.get(caseNo)!;
    if (row.applicantEnc) {
      const applicant = this.s.keyring.decrypt<ApplicantSecret>(row.applicantEnc);
      const payload = { caseNo, phone: applicant.phone, code: credential.code, qr: credential.qr, expiresAt };
      this.s.store.db.prepare('INSERT INTO notify_outbox (case_no, payload_enc, created_at) VALUES (?, ?, ?)').run(caseNo, this.s.keyring.encrypt(payload), ctx.now);
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
