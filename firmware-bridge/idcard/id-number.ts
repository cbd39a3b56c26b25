// The resident ID number's shape and GB 11643-1999 check character, and its masked form. The controller has
// its own (controller/domain/identifiers.ts, with the messages for typed input); firmware-bridge may not import
// the controller, so the few lines a card read needs live here too. A unit test keeps the two in agreement.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARACTERS = '10X98765432';

/** 17 digits and the GB 11643 check character (a digit or an upper-case X) that matches them. */
export function isWellFormedIdNumber(s: string): boolean {
  if (!/^\d{17}[\dX]$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(s.charAt(i)) * WEIGHTS[i]!;
  return s.charAt(17) === CHECK_CHARACTERS.charAt(sum % 11);
}

/** '440106199001011235' → '440106********1235' (as the controller masks it); anything else is masked whole. */
export function maskIdNumber(idNumber: string): string {
  return idNumber.length === 18 ? `${idNumber.slice(0, 6)}********${idNumber.slice(14)}` : '*'.repeat(idNumber.length);
}
