/**
 * A request the cabinet refuses for a reason a person can act on. Thrown inside a change so the transaction
 * rolls back (nothing half-written); the API turns it into a 4xx/503 answer.
 */
/** `forbidden`: the person is signed in but may not do this to this thing (a courier and an item type not theirs). */
export type RefusalKind = 'not-found' | 'conflict' | 'invalid' | 'unavailable' | 'forbidden';

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    /** Stable machine-readable code, e.g. `unknown-barcode`. */
    readonly code: string,
    /** What happened and what to do, in words for the clerk. */
    message: string,
    readonly details: Record<string, unknown> = {},
    /** The field at fault, when one is. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}
