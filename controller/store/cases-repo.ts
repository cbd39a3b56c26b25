import type { CaseSource, CaseState, ItemState, ItemType } from '../domain/types.ts';
import type { Db } from './database.ts';

export interface MaskedApplicant { readonly name: string; readonly phone: string; readonly idNumber: string }
export interface MaskedAgent { readonly name: string; readonly idNumber: string }
/** An agent as stored: encrypted {name, idNumber}, masked, and the keyed hash of the ID number's last 6. */
export interface AgentRecord { readonly enc: Buffer; readonly masked: MaskedAgent; readonly suffixHash: string }

export interface CaseRow {
  readonly caseNo: string;
  readonly state: CaseState;
  readonly enterpriseName: string;
  readonly uscc: string;
  readonly applicant: MaskedApplicant;
  readonly applicantEnc: Buffer | null;
  readonly idSuffixHash: string | null;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly readyAt: number | null;
  readonly expiresAt: number | null;
  readonly closedAt: number | null;
  /** Who sent it: a clerk, or the hall's case system. */
  readonly source: CaseSource;
  /** Keyed hash of the case as last sent (canonical JSON); null for cases made before schema 7. */
  readonly contentHash: string | null;
  /** The agent (代办人) the case names, masked; null when none (or purged). */
  readonly agent: MaskedAgent | null;
  readonly agentEnc: Buffer | null;
  readonly agentSuffixHash: string | null;
  /** Why the applicant sent the items back at the doors (a `returned` case). */
  readonly returnReasons: readonly string[] | null;
}

export interface ItemRow {
  readonly id: number;
  readonly caseNo: string;
  readonly type: ItemType;
  readonly barcode: string;
  readonly label: string | null;
  readonly state: ItemState;
  readonly compartmentId: string | null;
}

export interface CredentialRow {
  readonly id: number;
  readonly caseNo: string;
  readonly expiresAt: number;
  readonly state: 'active' | 'spent' | 'revoked';
}

interface RawCase { case_no: string; state: CaseState; enterprise_name: string; uscc: string; applicant_enc: Buffer | null; applicant_masked: string; id_suffix_hash: string | null; created_at: number; created_by: string; ready_at: number | null; expires_at: number | null; closed_at: number | null; source: CaseSource; content_hash: string | null; agent_enc: Buffer | null; agent_masked: string | null; agent_suffix_hash: string | null; return_reasons: string | null }
interface RawItem { id: number; case_no: string; type: ItemType; barcode: string; label: string | null; state: ItemState; compartment_id: string | null }

const toCase = (r: RawCase): CaseRow => ({
  caseNo: r.case_no, state: r.state, enterpriseName: r.enterprise_name, uscc: r.uscc, applicant: JSON.parse(r.applicant_masked), applicantEnc: r.applicant_enc,
  idSuffixHash: r.id_suffix_hash, createdAt: r.created_at, createdBy: r.created_by, readyAt: r.ready_at, expiresAt: r.expires_at, closedAt: r.closed_at,
  source: r.source, contentHash: r.content_hash,
  agent: r.agent_masked === null ? null : JSON.parse(r.agent_masked), agentEnc: r.agent_enc, agentSuffixHash: r.agent_suffix_hash,
  returnReasons: r.return_reasons === null ? null : JSON.parse(r.return_reasons),
});
const toItem = (r: RawItem): ItemRow => ({ id: r.id, caseNo: r.case_no, type: r.type, barcode: r.barcode, label: r.label, state: r.state, compartmentId: r.compartment_id });

export class CasesRepo {
  constructor(private readonly db: Db) {}

  insert(c: { caseNo: string; enterpriseName: string; uscc: string; applicantEnc: Buffer; applicant: MaskedApplicant; idSuffixHash: string; createdAt: number; createdBy: string; source?: CaseSource; contentHash?: string; agent?: AgentRecord | null }, items: readonly { type: ItemType; barcode: string; label: string | null }[]): void {
    this.db.prepare(`INSERT INTO cases (case_no, state, enterprise_name, uscc, applicant_enc, applicant_masked, id_suffix_hash, created_at, created_by, source, content_hash, agent_enc, agent_masked, agent_suffix_hash)
      VALUES (?, 'awaiting-items', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(c.caseNo, c.enterpriseName, c.uscc, c.applicantEnc, JSON.stringify(c.applicant), c.idSuffixHash, c.createdAt, c.createdBy, c.source ?? 'clerk', c.contentHash ?? null,
      c.agent?.enc ?? null, c.agent ? JSON.stringify(c.agent.masked) : null, c.agent?.suffixHash ?? null);
    this.insertItems(c.caseNo, items);
  }

  /** New items, expected (a case created, or items added to it later). */
  insertItems(caseNo: string, items: readonly { type: ItemType; barcode: string; label: string | null }[]): void {
    const insertItem = this.db.prepare(`INSERT INTO items (case_no, type, barcode, label, state) VALUES (?, ?, ?, ?, 'expected')`);
    for (const item of items) insertItem.run(caseNo, item.type, item.barcode, item.label);
  }

  get(caseNo: string): CaseRow | undefined {
    const r = this.db.prepare('SELECT * FROM cases WHERE case_no = ?').get(caseNo) as RawCase | undefined;
    return r && toCase(r);
  }

  list(state?: CaseState, limit = 500): CaseRow[] {
    const rows = state
      ? this.db.prepare('SELECT * FROM cases WHERE state = ? ORDER BY created_at DESC LIMIT ?').all(state, limit)
      : this.db.prepare('SELECT * FROM cases ORDER BY created_at DESC LIMIT ?').all(limit);
    return (rows as RawCase[]).map(toCase);
  }

  setState(caseNo: string, state: CaseState, fields: { readyAt?: number; expiresAt?: number; closedAt?: number } = {}): void {
    this.db.prepare(`UPDATE cases SET state = ?, ready_at = coalesce(?, ready_at), expires_at = coalesce(?, expires_at), closed_at = coalesce(?, closed_at) WHERE case_no = ?`)
      .run(state, fields.readyAt ?? null, fields.expiresAt ?? null, fields.closedAt ?? null, caseNo);
  }

  /** Ready cases whose credential has run out. */
  expiredReady(now: number): CaseRow[] {
    return (this.db.prepare(`SELECT * FROM cases WHERE state = 'ready' AND expires_at IS NOT NULL AND expires_at <= ?`).all(now) as RawCase[]).map(toCase);
  }

  /**
   * Cases whose reminder time has come (`beforeMs` before their expiry, not yet past it) and that got none yet,
   * in any state (the caller skips those no longer waiting); not those whose credential was issued after that
   * time (the code's own message went out moments before).
   */
  remindersDue(now: number, beforeMs: number): { caseNo: string; state: CaseState; expiresAt: number }[] {
    return (this.db.prepare(`SELECT case_no, state, expires_at FROM cases WHERE reminded_at IS NULL AND expires_at IS NOT NULL
      AND expires_at > ? AND expires_at - ? <= ? AND (ready_at IS NULL OR ready_at < expires_at - ?) ORDER BY expires_at`).all(now, beforeMs, now, beforeMs) as { case_no: string; state: CaseState; expires_at: number }[])
      .map((r) => ({ caseNo: r.case_no, state: r.state, expiresAt: r.expires_at }));
  }

  /** The reminder went out (so it never goes out twice). */
  markReminded(caseNo: string, now: number): void {
    this.db.prepare('UPDATE cases SET reminded_at = ? WHERE case_no = ?').run(now, caseNo);
  }

  items(caseNo: string): ItemRow[] {
    return (this.db.prepare('SELECT * FROM items WHERE case_no = ? ORDER BY id').all(caseNo) as RawItem[]).map(toItem);
  }

  item(id: number): ItemRow | undefined {
    const r = this.db.prepare('SELECT * FROM items WHERE id = ?').get(id) as RawItem | undefined;
    return r && toItem(r);
  }

  /** The not-yet-collected item carrying this barcode. */
  liveItemByBarcode(barcode: string): ItemRow | undefined {
    const r = this.db.prepare(`SELECT * FROM items WHERE barcode = ? AND state IN ('expected','loading','loaded')`).get(barcode) as RawItem | undefined;
    return r && toItem(r);
  }

  /** How many cases are in each state (for /metrics). */
  countByState(): { state: CaseState; n: number }[] {
    return this.db.prepare('SELECT state, count(*) AS n FROM cases GROUP BY state').all() as { state: CaseState; n: number }[];
  }

  liveBarcodes(barcodes: readonly string[]): string[] {
    if (barcodes.length === 0) return [];
    const marks = barcodes.map(() => '?').join(',');
    return (this.db.prepare(`SELECT barcode FROM items WHERE state IN ('expected','loading','loaded') AND barcode IN (${marks})`).all(...barcodes) as { barcode: string }[]).map((r) => r.barcode);
  }

  setItem(id: number, state: ItemState, compartmentId: string | null, now: number): void {
    this.db.prepare(`UPDATE items SET state = ?, compartment_id = ?,
      loaded_at = CASE WHEN ? = 'loaded' THEN ? ELSE loaded_at END,
      closed_at = CASE WHEN ? IN ('collected','retrieved') THEN ? ELSE closed_at END WHERE id = ?`).run(state, compartmentId, state, now, state, now, id);
  }

  // ---- credentials: only keyed hashes are stored ----

  insertCredential(caseNo: string, codeHash: string, qrHash: string, issuedAt: number, expiresAt: number): number {
    return Number(this.db.prepare(`INSERT INTO credentials (case_no, code_hash, qr_hash, issued_at, expires_at, state) VALUES (?, ?, ?, ?, ?, 'active')`).run(caseNo, codeHash, qrHash, issuedAt, expiresAt).lastInsertRowid);
  }

  codeInUse(codeHash: string): boolean {
    return this.db.prepare(`SELECT 1 FROM credentials WHERE state = 'active' AND code_hash = ?`).get(codeHash) !== undefined;
  }

  activeCredentialByHash(form: 'code' | 'qr', hash: string): CredentialRow | undefined {
    const column = form === 'code' ? 'code_hash' : 'qr_hash';
    const r = this.db.prepare(`SELECT id, case_no, expires_at, state FROM credentials WHERE state = 'active' AND ${column} = ?`).get(hash) as { id: number; case_no: string; expires_at: number; state: 'active' } | undefined;
    return r && { id: r.id, caseNo: r.case_no, expiresAt: r.expires_at, state: r.state };
  }

  /**
   * A credential already spent by a pickup whose doors are still open: a second tap of the same code or QR
   * while the applicant takes the items. Few cases are `picking-up` at once, so the join is small.
   */
  spentCredentialInPickup(form: 'code' | 'qr', hash: string): CredentialRow | undefined {
    const column = form === 'code' ? 'code_hash' : 'qr_hash';
    const r = this.db.prepare(`SELECT cr.id, cr.case_no, cr.expires_at, cr.state FROM cases c JOIN credentials cr ON cr.case_no = c.case_no
      WHERE c.state = 'picking-up' AND cr.state = 'spent' AND cr.${column} = ? ORDER BY cr.id DESC LIMIT 1`).get(hash) as { id: number; case_no: string; expires_at: number; state: 'spent' } | undefined;
    return r && { id: r.id, caseNo: r.case_no, expiresAt: r.expires_at, state: r.state };
  }

  activeCredentialOf(caseNo: string): CredentialRow | undefined {
    const r = this.db.prepare(`SELECT id, case_no, expires_at, state FROM credentials WHERE state = 'active' AND case_no = ?`).get(caseNo) as { id: number; case_no: string; expires_at: number; state: 'active' } | undefined;
    return r && { id: r.id, caseNo: r.case_no, expiresAt: r.expires_at, state: r.state };
  }

  revokeCredentials(caseNo: string): void {
    this.db.prepare(`UPDATE credentials SET state = 'revoked' WHERE case_no = ? AND state = 'active'`).run(caseNo);
  }

  spendCredential(id: number, now: number): boolean {
    return this.db.prepare(`UPDATE credentials SET state = 'spent', spent_at = ? WHERE id = ? AND state = 'active'`).run(now, id).changes === 1;
  }

  // ---- the hall system's amendments and cancellations ----

  /** A corrected case: enterprise and applicant as sent now, and the hash of the case as last sent. */
  updateParticulars(caseNo: string, p: { enterpriseName: string; uscc: string; applicantEnc: Buffer; applicant: MaskedApplicant; idSuffixHash: string; contentHash: string; agent: AgentRecord | null }): void {
    this.db.prepare(`UPDATE cases SET enterprise_name = ?, uscc = ?, applicant_enc = ?, applicant_masked = ?, id_suffix_hash = ?, content_hash = ?, agent_enc = ?, agent_masked = ?, agent_suffix_hash = ? WHERE case_no = ?`)
      .run(p.enterpriseName, p.uscc, p.applicantEnc, JSON.stringify(p.applicant), p.idSuffixHash, p.contentHash, p.agent?.enc ?? null, p.agent ? JSON.stringify(p.agent.masked) : null, p.agent?.suffixHash ?? null, caseNo);
  }

  /** An item's type and label as the hall system now sends them (its state and compartment stay). */
  updateItem(id: number, type: ItemType, label: string | null): void {
    this.db.prepare('UPDATE items SET type = ?, label = ? WHERE id = ?').run(type, label, id);
  }

  /**
   * An item the case no longer expects, never loaded: gone from the case, with the loads that were tried and
   * aborted for it (the events and the audit chain keep their record).
   */
  removeExpectedItem(id: number): void {
    this.db.prepare(`DELETE FROM loads WHERE item_id = ? AND state = 'aborted'`).run(id);
    this.db.prepare(`DELETE FROM items WHERE id = ? AND state = 'expected'`).run(id);
  }

  /** Why the applicant sent the case's items back at the doors. */
  setReturnReasons(caseNo: string, reasons: readonly string[]): void {
    this.db.prepare('UPDATE cases SET return_reasons = ? WHERE case_no = ?').run(JSON.stringify(reasons), caseNo);
  }

  /** A ready (or overdue) case that expects another item: awaiting items again, with no readiness or expiry. */
  reopen(caseNo: string): void {
    this.db.prepare(`UPDATE cases SET state = 'awaiting-items', ready_at = NULL, expires_at = NULL, reminded_at = NULL WHERE case_no = ?`).run(caseNo);
  }
}
