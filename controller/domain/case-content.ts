import { canonicalJson } from './canonical-json.ts';
import type { ItemState, ItemType } from './types.ts';

// A case as the hall system sends it, compared with the case on file: whether a repeat is the same case, what
// differs (field names, never personal values), and what an amendment changes among the items. Pure: the
// services bring the case on file and store the outcome.

export interface SentItem { readonly type: ItemType; readonly barcode: string; readonly label?: string | undefined }

/** The validated body of POST /cases (and of `cmd/case`'s `case`). */
export interface CaseContent {
  readonly caseNo: string;
  readonly enterprise: { readonly name: string; readonly uscc: string };
  readonly applicant: { readonly name: string; readonly phone: string; readonly idNumber: string };
  /** The agent (代办人) who may collect instead of the applicant. */
  readonly agent?: { readonly name: string; readonly idNumber: string } | undefined;
  readonly items: readonly SentItem[];
}

/** A path and what is wrong there, as the HTTP error shape and the MQTT reply name it. */
export interface CaseIssue { readonly path: string; readonly message: string }

/** What the hash is keyed with, apart from every other keyed hash of the cabinet. */
export const CASE_CONTENT_DOMAIN = 'case-content';

/**
 * One text per case: keys sorted, items in barcode order (their order carries no meaning), an empty label the
 * same as none. Two sendings of the same case give the same text, whatever their spelling of the JSON.
 */
export function canonicalCase(c: CaseContent): string {
  const items = [...c.items].sort((a, b) => (a.barcode < b.barcode ? -1 : a.barcode > b.barcode ? 1 : 0))
    .map((i) => ({ type: i.type, barcode: i.barcode, label: i.label ? i.label : undefined }));
  return canonicalJson({ caseNo: c.caseNo, enterprise: c.enterprise, applicant: c.applicant, ...(c.agent ? { agent: c.agent } : {}), items });
}

/** The case on file, as far as it can be read back (the applicant is null once purged). */
export interface CaseOnFile {
  readonly enterprise: { readonly name: string; readonly uscc: string };
  readonly applicant: { readonly name: string; readonly phone: string; readonly idNumber: string } | null;
  /** The agent on file: null when the case names none, `purged` once personal data went. */
  readonly agent?: { readonly name: string; readonly idNumber: string } | null | 'purged';
  readonly items: readonly { readonly type: ItemType; readonly barcode: string; readonly label: string | null }[];
}

const DIFFERS = 'differs from the case on file';

/**
 * Where a sent case differs from the one on file: paths into the sent body with words that never repeat a
 * personal value (barcodes, item types and labels are no personal data and are named).
 */
export function caseDifferences(sent: CaseContent, onFile: CaseOnFile): CaseIssue[] {
  const issues: CaseIssue[] = [];
  if (sent.enterprise.name !== onFile.enterprise.name) issues.push({ path: 'enterprise.name', message: DIFFERS });
  if (sent.enterprise.uscc !== onFile.enterprise.uscc) issues.push({ path: 'enterprise.uscc', message: DIFFERS });
  if (onFile.applicant === null) {
    issues.push({ path: 'applicant', message: 'the applicant on file has been purged, so it cannot be compared' });
  } else {
    for (const field of ['name', 'phone', 'idNumber'] as const) {
      if (sent.applicant[field] !== onFile.applicant[field]) issues.push({ path: `applicant.${field}`, message: DIFFERS });
    }
  }
  const agentOnFile = onFile.agent ?? null;
  if (agentOnFile === 'purged') {
    if (sent.agent) issues.push({ path: 'agent', message: 'the agent on file has been purged, so it cannot be compared' });
  } else if (!sent.agent !== !agentOnFile) {
    issues.push({ path: 'agent', message: sent.agent ? 'the case on file names no agent' : 'the case on file names an agent' });
  } else if (sent.agent && agentOnFile) {
    for (const field of ['name', 'idNumber'] as const) {
      if (sent.agent[field] !== agentOnFile[field]) issues.push({ path: `agent.${field}`, message: DIFFERS });
    }
  }
  const filed = new Map(onFile.items.map((i) => [i.barcode, i]));
  sent.items.forEach((item, i) => {
    const same = filed.get(item.barcode);
    if (!same) issues.push({ path: `items.${i}.barcode`, message: `barcode ${item.barcode} is not in the case on file` });
    else {
      if (same.type !== item.type) issues.push({ path: `items.${i}.type`, message: `item ${item.barcode} is on file as ${same.type}` });
      if ((same.label ?? '') !== (item.label ?? '')) issues.push({ path: `items.${i}.label`, message: `the label of item ${item.barcode} ${DIFFERS}` });
    }
  });
  const sentBarcodes = new Set(sent.items.map((i) => i.barcode));
  for (const item of onFile.items) {
    if (!sentBarcodes.has(item.barcode)) issues.push({ path: 'items', message: `the case on file also has item ${item.barcode} (${item.type})` });
  }
  return issues;
}

/** An item of the case on file, with where it is. */
export interface ItemOnFile {
  readonly id: number;
  readonly type: ItemType;
  readonly barcode: string;
  readonly label: string | null;
  readonly state: ItemState;
  readonly compartmentId: string | null;
}

export interface ItemAmendment {
  readonly added: readonly SentItem[];
  /** Items no longer expected; none of them is inside the cabinet. */
  readonly removed: readonly ItemOnFile[];
  /** Items kept whose type or label changes. */
  readonly changed: readonly { readonly item: ItemOnFile; readonly type: ItemType; readonly label: string | null }[];
  /** Why the amendment cannot be made, by path; empty when it can. */
  readonly refusals: readonly CaseIssue[];
}

/**
 * What an amended item list does to the case's items, matched by barcode. An item already in the cabinet
 * cannot leave the case or change its type by a message: a clerk has to take it out first. Labels may change.
 */
export function amendItems(onFile: readonly ItemOnFile[], sent: readonly SentItem[]): ItemAmendment {
  const refusals: CaseIssue[] = [];
  const byBarcode = new Map(onFile.map((i) => [i.barcode, i]));
  const sentBarcodes = new Set(sent.map((i) => i.barcode));
  const removed = onFile.filter((i) => !sentBarcodes.has(i.barcode));
  for (const item of removed) {
    if (item.state === 'loaded') refusals.push({ path: 'items', message: `item ${item.barcode} (${item.type}) is already in compartment ${item.compartmentId}: it cannot leave the case while it is inside; a clerk must take it out first (cancel the case: a clerk then retrieves its items; send what remains as a new case)` });
    else if (item.state === 'loading') refusals.push({ path: 'items', message: `item ${item.barcode} (${item.type}) is being loaded into ${item.compartmentId} right now: send the amendment again once that door is closed` });
  }
  const added: SentItem[] = [];
  const changed: { item: ItemOnFile; type: ItemType; label: string | null }[] = [];
  sent.forEach((s, i) => {
    const item = byBarcode.get(s.barcode);
    if (!item) { added.push(s); return; }
    const label = s.label ? s.label : null;
    if (item.type === s.type && item.label === label) return;
    if (item.type !== s.type && item.state !== 'expected') {
      refusals.push({ path: `items.${i}.type`, message: `item ${item.barcode} is already in compartment ${item.compartmentId} as ${item.type}: its type cannot change while it is inside` });
      return;
    }
    changed.push({ item, type: s.type, label });
  });
  return { added, removed: removed.filter((i) => i.state === 'expected'), changed, refusals };
}
