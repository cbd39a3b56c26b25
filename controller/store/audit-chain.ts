import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.ts';
import type { Db } from './database.ts';

export { canonicalJson };

export interface AuditEntry {
  readonly seq: number;
  readonly ts: string;
  readonly actor: string;
  readonly action: string;
  readonly data: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
}

export const GENESIS = '0'.repeat(64);

export function entryHash(prev: string, entry: { seq: number; ts: string; actor: string; action: string; data: unknown }): string {
  return createHash('sha256').update(prev).update(canonicalJson({ seq: entry.seq, ts: entry.ts, actor: entry.actor, action: entry.action, data: entry.data })).digest('hex');
}

interface AuditRow { seq: number; ts: number; actor: string; action: string; data: string; prev: string; hash: string }
const toEntry = (r: AuditRow): AuditEntry => ({ seq: r.seq, ts: new Date(r.ts).toISOString(), actor: r.actor, action: r.action, data: JSON.parse(r.data), prev: r.prev, hash: r.hash });

export type AuditVerdict =
  | { readonly ok: true; readonly entries: number; readonly head: string }
  | { readonly ok: false; readonly entries: number; readonly brokenAt: number; readonly problem: string };

/**
 * The audit chain: every security-relevant action, each entry hashed over the previous entry's hash and its
 * own canonical JSON. Appends join the caller's transaction. Personal data must be masked by the caller.
 */
export class AuditChain {
  readonly #head;
  readonly #insert;
  readonly #after;

  constructor(private readonly db: Db) {
    this.#head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.#insert = db.prepare('INSERT INTO audit (seq, ts, actor, action, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#after = db.prepare<[number, number]>('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?');
  }

  append(actor: string, action: string, data: Record<string, unknown>, now: number): AuditEntry {
    const head = this.#head.get() as { seq: number; hash: string } | undefined;
    const seq = (head?.seq ?? 0) + 1;
    const prev = head?.hash ?? GENESIS;
    const ts = new Date(now).toISOString();
    const plain = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
    const hash = entryHash(prev, { seq, ts, actor, action, data: plain });
    this.#insert.run(seq, now, actor, action, canonicalJson(plain), prev, hash);
    return { seq, ts, actor, action, data: plain, prev, hash };
  }

  after(seq: number, limit = 500): AuditEntry[] {
    return (this.#after.all(seq, limit) as AuditRow[]).map(toEntry);
  }

  /** Walks the whole chain; names the first entry whose link or hash does not hold. */
  verify(): AuditVerdict {
    let prev = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (const row of this.db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      const entry = toEntry(row);
      if (entry.seq !== expectedSeq) return { ok: false, entries: count, brokenAt: expectedSeq, problem: `entry ${expectedSeq} is missing` };
      if (entry.prev !== prev) return { ok: false, entries: count, brokenAt: entry.seq, problem: `entry ${entry.seq} does not link to entry ${entry.seq - 1}` };
      if (entryHash(prev, entry) !== entry.hash) return { ok: false, entries: count, brokenAt: entry.seq, problem: `entry ${entry.seq} was altered (its hash does not match its content)` };
      prev = entry.hash;
      expectedSeq++;
      count++;
    }
    return { ok: true, entries: count, head: prev };
  }
}
