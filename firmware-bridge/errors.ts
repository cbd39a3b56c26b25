/**
 * The board cannot be reached right now (link not `ok`, or lost during the operation). `energised` is false
 * when nothing was switched on (thrown before a pulse); true when the relay may have fired (lost during one):
 * then whether the door opened is unknown, and every relay is driven LOW again as soon as the board is back.
 */
export class HardwareUnavailableError extends Error {
  override readonly name = 'HardwareUnavailableError';
  readonly energised: boolean;

  constructor(message: string, options: { energised?: boolean } = {}) {
    super(message);
    this.energised = options.energised ?? false;
  }
}
