import { describe, expect, it } from 'vitest';
import { allocate, fits, type AllocatableCompartment } from '../../controller/domain/allocation.ts';

const cabinet = (overrides: Partial<Record<string, Partial<AllocatableCompartment>>> = {}): AllocatableCompartment[] =>
  [['A01', 'S'], ['A02', 'S'], ['A05', 'M'], ['A07', 'L'], ['A08', 'L']].map(([id, size]) => ({ id: id!, size: size as 'S', usedVolume: 0, caseNo: null, available: true, ...overrides[id!] }));

describe('allocation by size', () => {
  it('a framed licence original needs a large compartment', () => {
    expect(fits(['licence-original'], 'M')).toBe(false);
    expect(fits(['licence-original'], 'L')).toBe(true);
  });

  it('puts a seal alone in the smallest free compartment', () => {
    expect(allocate('seal', [], 'C1', cabinet())).toEqual({ ok: true, compartmentId: 'A01', reused: false });
  });

  it('chooses a compartment that takes the whole case when the first item arrives', () => {
    // A seal first, but the licence original still to come: both go in one large compartment.
    expect(allocate('seal', ['licence-original', 'tax-device'], 'C1', cabinet())).toMatchObject({ ok: true, compartmentId: 'A07' });
  });

  it('puts later items of a case into the compartment already holding it', () => {
    const c = cabinet({ A07: { caseNo: 'C1', usedVolume: 4 } });
    expect(allocate('seal', [], 'C1', c)).toEqual({ ok: true, compartmentId: 'A07', reused: true });
  });

  it('never uses a compartment of another case, nor one out of service', () => {
    const c = cabinet({ A01: { caseNo: 'OTHER', usedVolume: 1 }, A02: { available: false } });
    expect(allocate('seal', [], 'C1', c)).toMatchObject({ ok: true, compartmentId: 'A05' });
  });

  it('spreads a case over two compartments only when one cannot hold it', () => {
    const c = cabinet({ A07: { caseNo: 'C1', usedVolume: 8 } });
    expect(allocate('seal', [], 'C1', c)).toMatchObject({ ok: true, compartmentId: 'A01', reused: false });
  });

  it('reports the size needed when the cabinet is full', () => {
    const c = cabinet({ A07: { caseNo: 'X', usedVolume: 4 }, A08: { available: false } });
    expect(allocate('licence-original', [], 'C1', c)).toEqual({ ok: false, neededSize: 'L' });
  });
});
