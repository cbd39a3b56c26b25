import { describe, expect, it } from 'vitest';
import { amendItems, canonicalCase, caseDifferences, type CaseContent, type ItemOnFile } from '../../controller/domain/case-content.ts';

const sent: CaseContent = {
  caseNo: 'BY2026112300017',
  enterprise: { name: '广州市白云某某科技有限公司', uscc: '91440101MA5CXY7A25' },
  applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' },
  items: [{ type: 'licence-original', barcode: 'LIC-1' }, { type: 'seal', barcode: 'SEAL-1', label: '公章' }],
};

const onFile = (items: Partial<ItemOnFile>[]): ItemOnFile[] =>
  items.map((i, n) => ({ id: n + 1, type: 'seal', barcode: `B${n}`, label: null, state: 'expected', compartmentId: null, ...i }));

describe('a case as the hall system sends it', () => {
  it('has one canonical text whatever the order of its items or keys, and an empty label is none', () => {
    const reordered: CaseContent = {
      items: [{ barcode: 'SEAL-1', label: '公章', type: 'seal' }, { type: 'licence-original', barcode: 'LIC-1', label: '' }],
      applicant: { idNumber: '440106199001011235', phone: '13800138000', name: '张三' },
      enterprise: sent.enterprise,
      caseNo: sent.caseNo,
    };
    expect(canonicalCase(reordered)).toBe(canonicalCase(sent));
    expect(canonicalCase({ ...sent, items: [sent.items[0]!, { ...sent.items[1]!, label: '财务章' }] })).not.toBe(canonicalCase(sent));
  });

  it('names what differs from the case on file by path, never a personal value', () => {
    const issues = caseDifferences(
      { ...sent, applicant: { ...sent.applicant, phone: '13912345678' }, items: [{ type: 'invoice', barcode: 'LIC-1' }, { type: 'seal', barcode: 'SEAL-2' }] },
      { enterprise: sent.enterprise, applicant: sent.applicant, items: [{ type: 'licence-original', barcode: 'LIC-1', label: null }, { type: 'seal', barcode: 'SEAL-1', label: '公章' }] },
    );
    expect(issues).toEqual([
      { path: 'applicant.phone', message: 'differs from the case on file' },
      { path: 'items.0.type', message: 'item LIC-1 is on file as licence-original' },
      { path: 'items.1.barcode', message: 'barcode SEAL-2 is not in the case on file' },
      { path: 'items', message: 'the case on file also has item SEAL-1 (seal)' },
    ]);
    expect(JSON.stringify(issues)).not.toMatch(/13912345678|13800138000/);
    expect(caseDifferences(sent, { enterprise: sent.enterprise, applicant: null, items: sent.items.map((i) => ({ ...i, label: i.label ?? null })) }))
      .toEqual([{ path: 'applicant', message: 'the applicant on file has been purged, so it cannot be compared' }]);
  });
});

describe('an amended item list', () => {
  it('adds new items, drops items not yet loaded, relabels any, and retypes only items not yet inside', () => {
    const items = onFile([
      { barcode: 'IN', state: 'loaded', compartmentId: 'A03' },
      { barcode: 'WAIT', type: 'invoice' },
      { barcode: 'GONE' },
    ]);
    const plan = amendItems(items, [{ type: 'seal', barcode: 'IN', label: '公章' }, { type: 'tax-device', barcode: 'WAIT' }, { type: 'other', barcode: 'NEW' }]);
    expect(plan.refusals).toEqual([]);
    expect(plan.added).toEqual([{ type: 'other', barcode: 'NEW' }]);
    expect(plan.removed.map((i) => i.barcode)).toEqual(['GONE']);
    expect(plan.changed.map((c) => [c.item.barcode, c.type, c.label])).toEqual([['IN', 'seal', '公章'], ['WAIT', 'tax-device', null]]);
  });

  it('refuses by name to remove or retype an item inside the cabinet, or one being loaded', () => {
    const items = onFile([{ barcode: 'IN', state: 'loaded', compartmentId: 'A03' }, { barcode: 'DOOR', state: 'loading', compartmentId: 'B01' }, { barcode: 'RETYPE', state: 'loaded', compartmentId: 'A03' }]);
    const plan = amendItems(items, [{ type: 'invoice', barcode: 'RETYPE' }]);
    expect(plan.refusals).toEqual([
      { path: 'items', message: expect.stringMatching(/^item IN \(seal\) is already in compartment A03: .*a clerk must take it out first/) },
      { path: 'items', message: expect.stringMatching(/^item DOOR \(seal\) is being loaded into B01 right now/) },
      { path: 'items.0.type', message: 'item RETYPE is already in compartment A03 as seal: its type cannot change while it is inside' },
    ]);
  });
});
