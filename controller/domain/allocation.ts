import type { CompartmentSize, ItemType } from './types.ts';

// How much room an item takes, and the smallest compartment it fits. An A3 framed licence needs a large
// compartment; an A4 booklet or an invoice pack a medium one; seals and tax keys fit anywhere.
export const itemFootprint: Record<ItemType, { volume: number; minSize: CompartmentSize }> = {
  'licence-original': { volume: 4, minSize: 'L' },
  'licence-copy': { volume: 2, minSize: 'M' },
  invoice: { volume: 2, minSize: 'M' },
  other: { volume: 2, minSize: 'M' },
  seal: { volume: 1, minSize: 'S' },
  'tax-device': { volume: 1, minSize: 'S' },
};

export const compartmentCapacity: Record<CompartmentSize, number> = { S: 2, M: 4, L: 8 };
const sizeRank: Record<CompartmentSize, number> = { S: 0, M: 1, L: 2 };

export interface AllocatableCompartment {
  readonly id: string;
  readonly size: CompartmentSize;
  /** Volume already taken by this compartment's items (loaded or being loaded). */
  readonly usedVolume: number;
  /** The case it is bound to, or null when empty. */
  readonly caseNo: string | null;
  /** In service, door not open for another purpose. */
  readonly available: boolean;
  /** Held for a clerk (an item left behind, something unexpected seen inside): never chosen until cleared. */
  readonly held?: boolean;
}

export function fits(types: readonly ItemType[], size: CompartmentSize, usedVolume = 0): boolean {
  const volume = types.reduce((sum, t) => sum + itemFootprint[t].volume, 0);
  return types.every((t) => sizeRank[itemFootprint[t].minSize] <= sizeRank[size]) && usedVolume + volume <= compartmentCapacity[size];
}

export type Allocation =
  | { readonly ok: true; readonly compartmentId: string; readonly reused: boolean }
  | { readonly ok: false; readonly neededSize: CompartmentSize };

/**
 * Chooses where the next item of a case goes so that a case's items share one compartment whenever they fit:
 * 1. a compartment already holding this case, if the item fits in what is left;
 * 2. else the smallest empty compartment that takes the item together with every item of the case still to come;
 * 3. else the smallest empty compartment that takes the item alone.
 * Never a compartment of another case, nor one held for a clerk.
 */
export function allocate(
  item: ItemType,
  stillToCome: readonly ItemType[],
  caseNo: string,
  compartments: readonly AllocatableCompartment[],
): Allocation {
  const usable = compartments.filter((c) => c.available && !c.held);
  const own = usable.filter((c) => c.caseNo === caseNo && fits([item], c.size, c.usedVolume));
  if (own.length > 0) return { ok: true, compartmentId: own[0]!.id, reused: true };

  const empty = usable
    .filter((c) => c.caseNo === null && c.usedVolume === 0)
    .sort((a, b) => sizeRank[a.size] - sizeRank[b.size] || a.id.localeCompare(b.id));
  const together = empty.find((c) => fits([item, ...stillToCome], c.size));
  if (together) return { ok: true, compartmentId: together.id, reused: false };
  const alone = empty.find((c) => fits([item], c.size));
  if (alone) return { ok: true, compartmentId: alone.id, reused: false };
  return { ok: false, neededSize: itemFootprint[item].minSize };
}
