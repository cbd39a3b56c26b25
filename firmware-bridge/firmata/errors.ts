/**
 * The board cannot be reached right now (link not `ok`, or lost during the operation). Nothing was energised
 * when it is thrown before a pulse; during one, every relay is driven LOW again as soon as the board is back.
 */
export class HardwareUnavailableError extends Error {
  override readonly name = 'HardwareUnavailableError';
}
