import type { Collector } from '../domain/types.ts';
import { Keyring } from '../secrets/keyring.ts';
import type { CaseRow } from '../store/cases-repo.ts';

/**
 * Whose ID a second factor (the keyed hash of a typed suffix or of a card read) belongs to: the case's
 * applicant, the agent (代办人) it names, or nobody (`null`: a wrong suffix, someone else's card, a read unknown,
 * expired or used, or a case whose personal data has been purged).
 */
export function whoseId(hash: string | null, c: Pick<CaseRow, 'idSuffixHash' | 'agentSuffixHash'>): Collector | null {
  if (hash === null) return null;
  if (c.idSuffixHash !== null && Keyring.sameHash(hash, c.idSuffixHash)) return 'applicant';
  if (c.agentSuffixHash !== null && Keyring.sameHash(hash, c.agentSuffixHash)) return 'agent';
  return null;
}
