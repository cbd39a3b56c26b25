import { z } from 'zod';

/**
 * Characters no name, label or reason ever needs and that can hide or disguise text on a screen, in a log
 * or in a terminal: C0/C1 controls (NUL, ESC, CR/LF, …), format characters (bidi overrides such as U+202E,
 * zero-width characters), and the Unicode line and paragraph separators.
 */
const HIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

export function hiddenCharacterIn(text: string): string | null {
  const m = HIDDEN_CHARACTER.exec(text);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : null;
}

/** A line of text a person typed: trimmed, length-limited, free of hidden characters. */
export function plainText(max: number, what: string, { required = true }: { required?: boolean } = {}) {
  return z.string({ error: `${what} is text` }).trim()
    .min(required ? 1 : 0, `${what} is required`)
    .max(max, `${what} is at most ${max} characters`)
    .refine((s) => hiddenCharacterIn(s) === null, { error: (issue) => `${what} contains a control or invisible character (${hiddenCharacterIn(String(issue.input))}): type it again without it` });
}

/**
 * The hall's case number, e.g. "BY2026112300017". The hall system writes it upper-case; it is normalised
 * to upper case wherever it arrives, so "by2026…" and "BY2026…" are always the same case.
 */
export const caseNoSchema = z.string({ error: 'caseNo is the hall\'s case number, e.g. "BY2026112300017"' }).trim()
  .regex(/^[A-Za-z0-9-]{4,32}$/, 'caseNo is the hall\'s case number: 4–32 letters, digits or "-", e.g. "BY2026112300017"')
  .transform((s) => s.toUpperCase());
