import { z } from 'zod';
import { describeValue, type Parsed } from './frame.ts';

// Board and channel numbers come from the cabinet's configuration; zod turns them into addresses once, at that
// edge, with a message a clerk can act on. The codecs then only accept the typed addresses.

export type AddressProblem = 'board-out-of-range' | 'channel-out-of-range' | 'not-an-address';

/** A whole number in `min..max`; `hint` tells how to fix a value outside it. */
export function numberIn(what: 'board' | 'channel', min: number, max: number, hint: string) {
  const error = (issue: { input?: unknown }) => `${what} ${describeValue(issue.input)} is not a whole number ${min}–${max} (${hint})`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}


/** Runs `schema` over `input` and names the field at fault. */
export function parseWith<S extends z.ZodType, T>(schema: S, input: unknown, make: (data: z.output<S>) => T): Parsed<T, AddressProblem> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: make(result.data) };
  const issue = result.error.issues[0];
  const field = issue?.path[0];
  const reason: AddressProblem = field === 'board' ? 'board-out-of-range' : field === 'channel' ? 'channel-out-of-range' : 'not-an-address';
  const message = reason === 'not-an-address' ? 'a lock address is { board, channel }, both whole numbers' : (issue?.message ?? reason);
  return { ok: false, reason, message };
}
