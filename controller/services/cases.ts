import { z } from 'zod';
import { idNumberSchema, idSuffix, maskIdNumber, maskPhone, mobileSchema, usccSchema } from '../domain/identifiers.ts';
import { caseNoSchema, plainText } from '../domain/plain-text.ts';
import { Refusal } from '../domain/refusal.ts';
import { itemTypes, type CaseState } from '../domain/types.ts';
import type { CaseRow } from '../store/cases-repo.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService, IssuedCredential } from './credentials.ts';


export const barcodeSchema = z.string().trim().min(1, 'barcode is required').max(64, 'a barcode is at most 64 characters')
  .regex(/^[\x21-\x7E]+$/, 'a barcode is printable ASCII without spaces: scan it again or type it as printed');

export const newCaseSchema = z.object({
  caseNo: caseNoSchema,
  // Every nested object is strict too: a misspelt field is refused by name, never dropped silently.
  enterprise: z.object({ name: plainText(100, 'the enterprise name'), uscc: usccSchema }).strict(),
  applicant: z.object({ name: plainText(50, 'the applicant\'s name'), phone: mobileSchema, idNumber: idNumberSchema }).strict(),
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
}).strict();
export type NewCase = z.infer<typeof newCaseSchema>;

export interface CaseView {
  caseNo: string;
  state: CaseState;
  enterprise: { name: string; uscc: string };
  applicant: { name: string; phone: string; idNumber: string };
  items: { id: number; type: string; barcode: string; label: string | null; state: string; compartment: string | null }[];
  compartments: string[];
  createdAt: string;
  readyAt: string | null;
  expiresAt: string | null;
  closedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const maskName = (name: string) => (name.length <= 1 ? '*' : name[0] + '*'.repeat(Math.min(name.length - 1, 3)));

export class CaseService {
  constructor(private readonly s: ServiceContext, private readonly credentials: CredentialService) {}

  create(input: NewCase, actor: string): CaseView {
    const { cases } = this.s.repos;
    this.s.store.change((ctx) => {
      if (cases.get(input.caseNo)) throw new Refusal('conflict', 'duplicate-case', `case ${input.caseNo} already exists: look it up instead of creating it again`, { caseNo: input.caseNo }, 'caseNo');
      const taken = cases.liveBarcodes(input.items.map((i) => i.barcode));
      if (taken.length > 0) {
        const index = input.items.findIndex((i) => taken.includes(i.barcode));
        throw new Refusal('conflict', 'barcode-in-use', `barcode ${taken.join(', ')} already belongs to an item not yet collected: check the label`, { barcodes: taken }, `items.${index}.barcode`);
      }
      const { name, phone, idNumber } = input.applicant;
      const masked = { name: maskName(name), phone: maskPhone(phone), idNumber: maskIdNumber(idNumber) };
      cases.insert({
        caseNo: input.caseNo, enterpriseName: input.enterprise.name, uscc: input.enterprise.uscc,
        applicantEnc: this.s.keyring.encrypt({ name, phone, idNumber }), applicant: masked,
        idSuffixHash: this.credentials.hashIdSuffix(idSuffix(idNumber)), createdAt: ctx.now, createdBy: actor,
      }, input.items.map((i) => ({ type: i.type, barcode: i.barcode, label: i.label ?? null })));
      ctx.event('case.created', { caseNo: input.caseNo, items: input.items.map((i) => ({ type: i.type, label: i.label ?? null })), applicant: { phone: masked.phone } });
      ctx.audit(actor, 'case.created', { caseNo: input.caseNo, items: input.items.length, applicant: masked });
    });
    return this.view(input.caseNo)!;
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
      caseNo: c.caseNo, state: c.state, enterprise: { name: c.enterpriseName, uscc: c.uscc }, applicant: c.applicant,
      items: items.map((i) => ({ id: i.id, type: i.type, barcode: i.barcode, label: i.label, state: i.state, compartment: i.compartmentId })),
      compartments, createdAt: iso(c.createdAt)!, readyAt: iso(c.readyAt), expiresAt: iso(c.expiresAt), closedAt: iso(c.closedAt),
    };
  }
}
