import { z } from 'zod';
import { idNumberSchema, idSuffix, maskIdNumber, maskPhone, mobileSchema, usccSchema } from '../domain/identifiers.ts';
import { CASE_CONTENT_DOMAIN, canonicalCase, type CaseContent } from '../domain/case-content.ts';
import { caseNoSchema, plainText } from '../domain/plain-text.ts';
import { Refusal } from '../domain/refusal.ts';
import { fits, itemFootprint } from '../domain/allocation.ts';
import { itemTypes, type CaseSource, type CaseState, type ItemType } from '../domain/types.ts';
import type { AgentRecord, CaseRow, MaskedAgent, MaskedApplicant } from '../store/cases-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService, IssuedCredential } from './credentials.ts';


export const barcodeSchema = z.string().trim().min(1, 'barcode is required').max(64, 'a barcode is at most 64 characters')
  .regex(/^[\x21-\x7E]+$/, 'a barcode is printable ASCII without spaces: scan it again or type it as printed');

export const newCaseSchema = z.object({
  caseNo: caseNoSchema,
  // Every nested object is strict too: a misspelt field is refused by name, never dropped silently.
  enterprise: z.object({ name: plainText(100, 'the enterprise name'), uscc: usccSchema }).strict(),
  applicant: z.object({ name: plainText(50, 'the applicant\'s name'), phone: mobileSchema, idNumber: idNumberSchema }).strict(),
  // 代办人: someone the applicant sends instead; their ID card or ID suffix is accepted as the second factor.
  agent: z.object({ name: plainText(50, 'the agent\'s name'), idNumber: idNumberSchema }).strict().optional(),
  items: z.array(z.object({
    type: z.enum(itemTypes, { error: `type is one of ${itemTypes.join(', ')}` }),
    barcode: barcodeSchema,
    label: plainText(40, 'a label', { required: false }).optional(),
  }).strict()).min(1, 'a case needs at least one item').max(20, 'a case holds at most 20 items')
    .superRefine((items, ctx) => {
      const seen = new Map<string, number>();
      items.forEach((item, i) => {
        const first = seen.get(item.barcode);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'barcode'], message: `barcode ${item.barcode} is also item ${first}: each item has its own barcode` });
        else seen.set(item.barcode, i);
      });
    }),
}).strict().superRefine((c, ctx) => {
  if (c.agent && c.agent.idNumber === c.applicant.idNumber) ctx.addIssue({ code: 'custom', path: ['agent', 'idNumber'], message: 'the agent is someone other than the applicant: leave agent out when the applicant collects' });
});
export type NewCase = z.infer<typeof newCaseSchema>;

export interface CaseView {
  caseNo: string;
  state: CaseState;
  /** Who sent it: `clerk` (typed at the station) or `hall-system` (the hall's case system). */
  source: CaseSource;
  enterprise: { name: string; uscc: string };
  applicant: { name: string; phone: string; idNumber: string };
  /** The agent (代办人) who may collect instead, masked; null when the case names none. */
  agent: { name: string; idNumber: string } | null;
  /** Why the applicant sent the items back at the doors; null unless the case is `returned`. */
  returnReasons: readonly string[] | null;
  items: { id: number; type: string; barcode: string; label: string | null; state: string; compartment: string | null }[];
  compartments: string[];
  createdAt: string;
  readyAt: string | null;
  expiresAt: string | null;
  closedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const maskName = (name: string) => (name.length <= 1 ? '*' : name[0] + '*'.repeat(Math.min(name.length - 1, 3)));

/** The applicant as shown everywhere but the SMS: masked. */
export const maskApplicant = (a: NewCase['applicant']): MaskedApplicant => ({ name: maskName(a.name), phone: maskPhone(a.phone), idNumber: maskIdNumber(a.idNumber) });
export const maskAgent = (a: NonNullable<NewCase['agent']>): MaskedAgent => ({ name: maskName(a.name), idNumber: maskIdNumber(a.idNumber) });

export class CaseService {
  constructor(private readonly s: ServiceContext, private readonly credentials: CredentialService) {}

  /** A clerk creates a case at the station: a case number already on file is refused (`duplicate-case`). */
  create(input: NewCase, actor: string): CaseView {
    this.s.store.change((ctx) => {
      if (this.s.repos.cases.get(input.caseNo)) throw new Refusal('conflict', 'duplicate-case', `case ${input.caseNo} already exists: look it up instead of creating it again`, { caseNo: input.caseNo }, 'caseNo');
      this.insert(ctx, input, actor, 'clerk');
    });
    return this.view(input.caseNo)!;
  }

  /** Writes a new case (its number checked free by the caller), reported as `case.created` with its source. */
  insert(ctx: ChangeContext, input: NewCase, actor: string, source: CaseSource): void {
    const { cases } = this.s.repos;
    this.refuseUnfitItems(input.items);
    this.refuseTakenBarcodes(input.items);
    const masked = maskApplicant(input.applicant);
    cases.insert({
      caseNo: input.caseNo, enterpriseName: input.enterprise.name, uscc: input.enterprise.uscc,
      applicantEnc: this.s.keyring.encrypt(input.applicant), applicant: masked,
      idSuffixHash: this.credentials.hashIdSuffix(idSuffix(input.applicant.idNumber)), createdAt: ctx.now, createdBy: actor,
      source, contentHash: this.contentHash(input), agent: this.agentRecord(input.agent),
    }, input.items.map((i) => ({ type: i.type, barcode: i.barcode, label: i.label || null })));
    ctx.event('case.created', { caseNo: input.caseNo, source, items: input.items.map((i) => ({ type: i.type, label: i.label || null })), applicant: { phone: masked.phone } });
    ctx.audit(actor, 'case.created', { caseNo: input.caseNo, source, items: input.items.length, applicant: masked, ...(input.agent ? { agent: maskAgent(input.agent) } : {}) });
  }

  /** The agent as stored: encrypted, masked, and the keyed hash of the ID suffix (null when the case names none). */
  agentRecord(agent: NewCase['agent']): AgentRecord | null {
    if (!agent) return null;
    return { enc: this.s.keyring.encrypt(agent), masked: maskAgent(agent), suffixHash: this.credentials.hashIdSuffix(idSuffix(agent.idNumber)) };
  }

  /**
   * An item no compartment of this cabinet can take (an A3 framed licence in a cabinet without a large
   * compartment) is refused when the case comes, by its path, rather than at the door when it cannot be loaded.
   */
  refuseUnfitItems(items: readonly { type: ItemType }[], pathOf: (index: number) => string = (i) => `items.${i}.type`): void {
    const sizes = new Set(this.s.config.compartments.map((c) => c.size));
    const index = items.findIndex((item) => ![...sizes].some((size) => fits([item.type], size)));
    if (index < 0) return;
    const type = items[index]!.type;
    const needs = itemFootprint[type].minSize;
    throw new Refusal('invalid', 'item-cannot-fit', `a ${type} needs a compartment of size ${needs} or larger and this cabinet has none: hand it over at the window, or leave it out of the case`, { type, neededSize: needs }, pathOf(index));
  }

  /** Barcodes are unique among items not yet collected: the first one taken is refused by its path. */
  refuseTakenBarcodes(items: readonly { barcode: string }[], pathOf: (index: number) => string = (i) => `items.${i}.barcode`): void {
    const taken = this.s.repos.cases.liveBarcodes(items.map((i) => i.barcode));
    if (taken.length === 0) return;
    const index = items.findIndex((i) => taken.includes(i.barcode));
    throw new Refusal('conflict', 'barcode-in-use', `barcode ${taken.join(', ')} already belongs to an item not yet collected: check the label`, { barcodes: taken }, pathOf(index));
  }

  /** A keyed hash (HMAC-SHA256 under the cabinet's look-up key) of the case's canonical JSON: nothing in clear. */
  contentHash(input: CaseContent): string {
    return this.s.keyring.lookupHash(CASE_CONTENT_DOMAIN, canonicalCase(input));
  }

  view(caseNo: string): CaseView | undefined {
    const c = this.s.repos.cases.get(caseNo);
    return c && this.#toView(c);
  }

  list(state?: CaseState): CaseView[] {
    return this.s.repos.cases.list(state).map((c) => this.#toView(c));
  }

  /** A new credential (the old one stops working), delivered again; the answer shows it once. */
  reissue(caseNo: string, actor: string): IssuedCredential {
    return this.s.store.change((ctx) => {
      const c = this.s.repos.cases.get(caseNo);
      if (!c) throw new Refusal('not-found', 'unknown-case', `no case ${caseNo}: check the case number`, {}, 'caseNo');
      if (c.state !== 'ready' && c.state !== 'overdue') {
        throw new Refusal('conflict', 'case-not-ready', `case ${caseNo} is ${c.state}: a credential can be issued once every item is loaded and until it is collected`, { state: c.state });
      }
      const issued = this.credentials.issue(ctx, caseNo);
      ctx.event('credential.reissued', { caseNo, expiresAt: issued.expiresAt });
      ctx.audit(actor, 'credential.reissued', { caseNo });
      return issued;
    });
  }

  #toView(c: CaseRow): CaseView {
    const items = this.s.repos.cases.items(c.caseNo);
    const compartments = [...new Set(items.filter((i) => i.state === 'loaded' || i.state === 'loading').map((i) => i.compartmentId!))].sort();
    return {
      caseNo: c.caseNo, state: c.state, source: c.source, enterprise: { name: c.enterpriseName, uscc: c.uscc }, applicant: c.applicant, agent: c.agent, returnReasons: c.returnReasons,
      items: items.map((i) => ({ id: i.id, type: i.type, barcode: i.barcode, label: i.label, state: i.state, compartment: i.compartmentId })),
      compartments, createdAt: iso(c.createdAt)!, readyAt: iso(c.readyAt), expiresAt: iso(c.expiresAt), closedAt: iso(c.closedAt),
    };
  }
}
