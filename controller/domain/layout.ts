import type { CompartmentSize } from '../config/schema.ts';

/** Where a compartment sits on the cabinet's face: its id is a column letter and a two-digit row ("B03"). */
export interface CompartmentPlace {
  readonly id: string;
  readonly size: CompartmentSize;
  readonly column: string;
  readonly row: string;
}

/** The cabinet's face as the kiosk draws it: ids, sizes and places only, nothing about contents or people. */
export interface CabinetLayout {
  readonly columns: string[];
  /** Top to bottom. */
  readonly rows: string[];
  readonly compartments: CompartmentPlace[];
}

export function cabinetLayout(compartments: readonly { id: string; size: CompartmentSize }[]): CabinetLayout {
  const places = compartments.map(({ id, size }) => ({ id, size, column: id.slice(0, 1), row: id.slice(1) }));
  const distinct = (values: string[]) => [...new Set(values)].sort();
  return { columns: distinct(places.map((p) => p.column)), rows: distinct(places.map((p) => p.row)), compartments: places };
}
