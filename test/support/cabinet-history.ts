import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DATABASE_FILE } from '../../controller/cabinet.ts';
import { parseConfig } from '../../controller/config/load.ts';
import { hashDomains } from '../../controller/domain/credentials.ts';
import { maskIdNumber, maskPhone } from '../../controller/domain/identifiers.ts';
import { Keyring } from '../../controller/secrets/keyring.ts';
import { AuditChain } from '../../controller/store/audit-chain.ts';
import { CasesRepo } from '../../controller/store/cases-repo.ts';
import { CompartmentsRepo } from '../../controller/store/compartments-repo.ts';
import { openDatabase } from '../../controller/store/database.ts';
import { EventOutbox } from '../../controller/store/event-outbox.ts';
import { LoadsRepo, OpensRepo } from '../../controller/store/opens-repo.ts';

/** The applicant of every seeded case (the same person as the tests' caseBody). */
export const SEEDED_APPLICANT = { name: '张三', phone: '13800138000', idNumber: '440106199001011235' } as const;

/**
 * A data dir with a history: `cases` collected cases, each leaving what a real one leaves behind — two items
 * loaded into a compartment and collected, the load's and the pickup's opens, a spent credential, its events
 * (marked sent) and audit entries — written through the repositories in one transaction, with the data dir's
 * own key. About 10 s for 100,000 cases. Case numbers are `${prefix}000001`, … (barcodes likewise).
 */
export function seedCollectedCases(dataDir: string, o: { cases: number; prefix?: string; now?: number }): { first: string; last: string } {
  const prefix = o.prefix ?? 'HIST';
  const start = (o.now ?? Date.now()) - o.cases * 60_000;
  const db = openDatabase(join(dataDir, DATABASE_FILE));
  const keyring = Keyring.openOrCreate(dataDir);
  const compartments = parseConfig({}, {}).compartments.map((c) => c.id);
  const cases = new CasesRepo(db);
  const opens = new OpensRepo(db);
  const loads = new LoadsRepo(db);
  const audit = new AuditChain(db);
  const outbox = new EventOutbox(db, randomUUID());
  const masked = { name: '张*', phone: maskPhone(SEEDED_APPLICANT.phone), idNumber: maskIdNumber(SEEDED_APPLICANT.idNumber) };
  const idSuffixHash = keyring.lookupHash(hashDomains.idSuffix, SEEDED_APPLICANT.idNumber.slice(-6));
  const caseNo = (i: number) => `${prefix}${String(i + 1).padStart(6, '0')}`;
  try {
    new CompartmentsRepo(db).syncWithConfig(parseConfig({}, {}).compartments);
    db.transaction(() => {
      for (let i = 0; i < o.cases; i++) {
        const no = caseNo(i);
        const t = start + i * 60_000;
        const compartment = compartments[i % compartments.length]!;
        cases.insert({
          caseNo: no, enterpriseName: '广州市白云某某科技有限公司', uscc: '91440101MA5CXY7A25',
          applicantEnc: keyring.encrypt(SEEDED_APPLICANT), applicant: masked, idSuffixHash, createdAt: t, createdBy: 'li',
        }, [{ type: 'seal', barcode: `${no}-S`, label: '公章' }, { type: 'invoice', barcode: `${no}-I`, label: null }]);
        audit.append('li', 'case.created', { caseNo: no, items: 2, applicant: masked }, t);
        outbox.append('case.created', { caseNo: no, items: [{ type: 'seal', label: '公章' }, { type: 'invoice', label: null }], applicant: { phone: masked.phone } }, t);

        const loadOpen = opens.journal(compartment, 'load', randomUUID(), t + 1000);
        for (const item of cases.items(no)) {
          const loadId = randomUUID();
          loads.insert({ id: loadId, itemId: item.id, caseNo: no, compartmentId: compartment, openId: loadOpen, actor: 'li', now: t + 1000 });
          loads.end(loadId, 'committed', null, t + 5000);
          cases.setItem(item.id, 'loaded', compartment, t + 5000);
        }
        opens.setState(loadOpen, 'closed', t + 5000);
        audit.append('li', 'load.committed', { caseNo: no, compartment, items: 2 }, t + 5000);
        const credential = cases.insertCredential(no, keyring.lookupHash(hashDomains.code, `c${i}`), keyring.lookupHash(hashDomains.qr, `q${i}`), t + 5000, t + 7 * 86_400_000);
        cases.setState(no, 'ready', { readyAt: t + 5000, expiresAt: t + 7 * 86_400_000 });
        audit.append('cabinet', 'credential.issued', { caseNo: no, expiresAt: new Date(t + 7 * 86_400_000).toISOString() }, t + 5000);
        outbox.append('case.ready', { caseNo: no, compartments: [compartment] }, t + 5000);

        const pickupId = randomUUID();
        db.prepare(`INSERT INTO pickups (id, case_no, credential_id, method, state, started_at, ended_at) VALUES (?, ?, ?, 'code', 'completed', ?, ?)`).run(pickupId, no, credential, t + 30_000, t + 40_000);
        cases.spendCredential(credential, t + 30_000);
        const pickupOpen = opens.journal(compartment, 'pickup', pickupId, t + 30_000);
        opens.setState(pickupOpen, 'closed', t + 40_000);
        for (const item of cases.items(no)) cases.setItem(item.id, 'collected', compartment, t + 40_000);
        cases.setState(no, 'collected', { closedAt: t + 40_000 });
        audit.append('cabinet', 'pickup.completed', { caseNo: no }, t + 40_000);
        outbox.append('pickup.completed', { caseNo: no, compartments: [compartment] }, t + 40_000);
      }
      // Old events went out long ago: a cabinet started on this dir has nothing to send.
      db.prepare('UPDATE events SET sent_at = ts WHERE sent_at IS NULL').run();
    }).immediate();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { first: caseNo(0), last: caseNo(o.cases - 1) };
}
