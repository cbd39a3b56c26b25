import { z } from 'zod';
import { amendItems, caseDifferences, type CaseIssue } from '../domain/case-content.ts';
import { idSuffix } from '../domain/identifiers.ts';
import { caseNoSchema } from '../domain/plain-text.ts';
import { Refusal } from '../domain/refusal.ts';
import type { CaseState } from '../domain/types.ts';
import type { CaseRow } from '../store/cases-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import { maskApplicant, newCaseSchema, type CaseService, type CaseView, type NewCase } from './cases.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';

/** `cmd/case`'s args (CONTRACT §9): the hall system creates, amends (the whole case as it should now be) or cancels. */
export const hallCaseCommandSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('create'), case: newCaseSchema }).strict(),
  z.object({ action: z.literal('amend'), case: newCaseSchema }).strict(),
  z.object({ action: z.literal('cancel'), caseNo: caseNoSchema }).strict(),
], { error: 'action is "create", "amend" or "cancel"' });
export type HallCaseCommand = z.infer<typeof hallCaseCommandSchema>;

interface ApplicantSecret { name: string; phone: string; idNumber: string }

/** States in which the hall system may still change a case: nothing handed out, nobody at the doors. */
const AMENDABLE: ReadonlySet<CaseState> = new Set(['awaiting-items', 'ready', 'overdue']);
const CANCELLABLE: ReadonlySet<CaseState> = new Set(['awaiting-items', 'ready', 'overdue']);

const inPickup = (caseNo: string, what: string) => new Refusal('conflict', 'in-pickup', `case ${caseNo} is in pickup: the applicant is taking the items right now, so it cannot be ${what}; if everything is taken it becomes collected`, { state: 'picking-up' }, 'caseNo');
const closed = (c: CaseRow, what: string) => new Refusal('conflict', 'case-closed', `case ${c.caseNo} is ${c.state}: a closed case cannot be ${what}`, { state: c.state }, 'caseNo');
const unknown = (caseNo: string) => new Refusal('not-found', 'unknown-case', `no case ${caseNo}: check the case number (create it first)`, {}, 'caseNo');

/** A refusal with every issue by path, in one message naming them (the MQTT reply has only the message). */
const refusalWithIssues = (code: string, lead: string, issues: readonly CaseIssue[]) =>
  new Refusal('conflict', code, `${lead}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });

/**
 * Cases from the hall's case system (HTTP `integration` role, MQTT `cmd/case`): idempotent by case number
 * through the keyed hash of the case as last sent. Each call is one store change; a refusal writes nothing.
 */
export class HallCaseService {
  constructor(private readonly s: ServiceContext, private readonly cases: CaseService, private readonly credentials: CredentialService) {}

  apply(command: HallCaseCommand, actor: string): CaseView {
    if (command.action === 'create') return this.create(command.case, actor).case;
    if (command.action === 'amend') return this.amend(command.case, actor);
    return this.cancel(command.caseNo, actor);
  }

  /**
   * A new case, or the same case again (`created: false`, nothing written). The same case number with other
   * contents is refused (`case-differs`), naming the fields that differ and never their values.
   */
  create(input: NewCase, actor: string): { created: boolean; case: CaseView } {
    const created = this.s.store.change((ctx) => {
      const onFile = this.s.repos.cases.get(input.caseNo);
      if (!onFile) {
        this.cases.insert(ctx, input, actor, 'hall-system');
        return true;
      }
      if (onFile.contentHash === this.cases.contentHash(input)) return false;
      const issues = this.#differences(input, onFile);
      // A case made before content hashes were kept, and the same in every field: the same case.
      if (onFile.contentHash === null && issues.length === 0) return false;
      throw refusalWithIssues('case-differs', `case ${input.caseNo} is already on file with other contents (send it as "amend" to change it)`,
        issues.length > 0 ? issues : [{ path: 'caseNo', message: 'the case on file differs' }]);
    });
    return { created, case: this.cases.view(input.caseNo)! };
  }

  /**
   * The whole case as it should now be. While nothing has been handed out and nobody is at the doors:
   * enterprise and applicant are corrected; items not yet loaded may go; new items may come, and a ready case
   * that expects one more is awaiting items again (its credential revoked: a new one goes out when the last
   * item is in, so nobody collects half a case with the old code). An item inside the cabinet cannot leave
   * the case by a message.
   */
  amend(input: NewCase, actor: string): CaseView {
    const { caseNo } = input;
    this.s.store.change((ctx) => {
      const { cases } = this.s.repos;
      const c = cases.get(caseNo);
      if (!c) throw unknown(caseNo);
      if (c.contentHash === this.cases.contentHash(input)) return; // the case as it is: nothing to change
      if (c.state === 'picking-up') throw inPickup(caseNo, 'amended');
      if (!AMENDABLE.has(c.state)) throw closed(c, 'amended');
      const items = cases.items(caseNo);
      const handedOut = items.find((i) => i.state === 'collected' || i.state === 'retrieved');
      if (handedOut) throw new Refusal('conflict', 'case-closed', `item ${handedOut.barcode} of case ${caseNo} is already ${handedOut.state}: the case cannot be amended any more`, { state: c.state }, 'items');
      const plan = amendItems(items, input.items);
      if (plan.refusals.length > 0) throw refusalWithIssues('item-inside', `case ${caseNo} cannot be amended`, plan.refusals);
      const sentIndex = (i: number) => input.items.findIndex((s) => s.barcode === plan.added[i]!.barcode);
      this.cases.refuseUnfitItems(plan.added, (i) => `items.${sentIndex(i)}.type`);
      this.cases.refuseUnfitItems(plan.changed, (i) => `items.${input.items.findIndex((s) => s.barcode === plan.changed[i]!.item.barcode)}.type`);
      this.cases.refuseTakenBarcodes(plan.added, (i) => `items.${sentIndex(i)}.barcode`);

      const changed = this.#differences(input, c).map((i) => i.path).filter((p) => !p.startsWith('items'));
      const before = c.applicantEnc ? this.s.keyring.decrypt<ApplicantSecret>(c.applicantEnc) : null;
      cases.updateParticulars(caseNo, {
        enterpriseName: input.enterprise.name, uscc: input.enterprise.uscc,
        applicantEnc: this.s.keyring.encrypt(input.applicant), applicant: maskApplicant(input.applicant),
        idSuffixHash: this.credentials.hashIdSuffix(idSuffix(input.applicant.idNumber)), contentHash: this.cases.contentHash(input),
        agent: this.cases.agentRecord(input.agent),
      });
      for (const item of plan.removed) cases.removeExpectedItem(item.id);
      for (const { item, type, label } of plan.changed) cases.updateItem(item.id, type, label);
      cases.insertItems(caseNo, plan.added.map((i) => ({ type: i.type, barcode: i.barcode, label: i.label || null })));

      const credential = this.#settleState(ctx, c, plan.added.length > 0, before !== null && before.phone !== input.applicant.phone);
      const data = {
        caseNo, changed,
        itemsAdded: plan.added.map((i) => ({ type: i.type, barcode: i.barcode })),
        itemsRemoved: plan.removed.map((i) => ({ type: i.type, barcode: i.barcode })),
        itemsChanged: plan.changed.map(({ item }) => item.barcode),
        from: c.state, state: cases.get(caseNo)!.state, credential,
      };
      ctx.event('case.amended', data);
      ctx.audit(actor, 'case.amended', data);
    });
    return this.cases.view(caseNo)!;
  }

  /**
   * Nothing inside: `cancelled` at once. Items inside: `cancelled`, and a clerk takes them back as for an
   * overdue case (POST /cases/:caseNo/retrieve). Either way the credential stops working. Refused while the
   * applicant is at the doors (`in-pickup`) or a door of the case is open for loading.
   */
  cancel(caseNo: string, actor: string): CaseView {
    this.s.store.change((ctx) => {
      const { cases, compartments } = this.s.repos;
      const c = cases.get(caseNo);
      if (!c) throw unknown(caseNo);
      if (c.state === 'cancelled') return; // already: the same answer again
      if (c.state === 'picking-up') throw inPickup(caseNo, 'cancelled');
      if (!CANCELLABLE.has(c.state)) throw closed(c, 'cancelled');
      const items = cases.items(caseNo);
      const loading = items.find((i) => i.state === 'loading');
      if (loading) throw new Refusal('conflict', 'door-busy', `item ${loading.barcode} of case ${caseNo} is being loaded into ${loading.compartmentId} right now: send the cancellation again once that door is closed`, { compartment: loading.compartmentId }, 'caseNo');
      cases.revokeCredentials(caseNo);
      // Items never loaded leave the live barcodes, so the hall may use them again.
      for (const item of items) if (item.state === 'expected') cases.setItem(item.id, 'retrieved', null, ctx.now);
      const inside = [...new Set(items.filter((i) => i.state === 'loaded').map((i) => i.compartmentId!))].sort();
      if (inside.length === 0) {
        for (const compartment of compartments.ofCase(caseNo)) compartments.releaseIfEmpty(compartment.id);
        cases.setState(caseNo, 'cancelled', { closedAt: ctx.now });
      } else {
        cases.setState(caseNo, 'cancelled');
      }
      const data = { caseNo, from: c.state, toRetrieve: inside };
      ctx.event('case.cancelled', data);
      ctx.audit(actor, 'case.cancelled', data);
    });
    return this.cases.view(caseNo)!;
  }

  /**
   * The case's state after an amendment: a ready or overdue case that expects a new item awaits items again
   * (credential revoked); a case awaiting items whose remaining items are all in is ready (credential issued
   * and sent); a ready case whose applicant's phone changed gets a new credential at the new number.
   */
  #settleState(ctx: ChangeContext, c: CaseRow, itemsAdded: boolean, phoneChanged: boolean): 'kept' | 'revoked' | 'issued' | 'none' {
    const { cases } = this.s.repos;
    if ((c.state === 'ready' || c.state === 'overdue') && itemsAdded) {
      cases.revokeCredentials(c.caseNo);
      cases.reopen(c.caseNo);
      return 'revoked';
    }
    const items = cases.items(c.caseNo);
    if (c.state === 'awaiting-items' && items.length > 0 && items.every((i) => i.state === 'loaded')) {
      const issued = this.credentials.issue(ctx, c.caseNo);
      ctx.event('case.ready', { caseNo: c.caseNo, compartments: [...new Set(items.map((i) => i.compartmentId!))].sort(), expiresAt: issued.expiresAt });
      return 'issued';
    }
    if (c.state === 'ready' && phoneChanged) {
      const issued = this.credentials.issue(ctx, c.caseNo);
      ctx.event('credential.reissued', { caseNo: c.caseNo, expiresAt: issued.expiresAt, cause: 'phone-changed' });
      return 'issued';
    }
    return c.state === 'awaiting-items' ? 'none' : 'kept';
  }

  /** Where a sent case differs from the one on file (the applicant read back from its ciphertext). */
  #differences(input: NewCase, onFile: CaseRow): CaseIssue[] {
    return caseDifferences(input, {
      enterprise: { name: onFile.enterpriseName, uscc: onFile.uscc },
      applicant: onFile.applicantEnc ? this.s.keyring.decrypt<ApplicantSecret>(onFile.applicantEnc) : null,
      agent: onFile.agentEnc ? this.s.keyring.decrypt<{ name: string; idNumber: string }>(onFile.agentEnc) : onFile.agent ? 'purged' : null,
      items: this.s.repos.cases.items(onFile.caseNo),
    });
  }
}
