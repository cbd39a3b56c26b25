import { z } from 'zod';

// People who sign in with a name and a password (the clerk station): how long a session lasts, and the lock
// on a name after wrong passwords. Machines sign in with bearer tokens, which none of this touches.

const minutes = (field: string, max: number, hint: string) =>
  z.number().int(`${field} is a whole number of minutes`).min(1, `${field} is 1–${max} minutes (${hint})`).max(max, `${field} is 1–${max} minutes (${hint})`);

export const staffSchema = z.object({
  sessionIdleMinutes: minutes('sessionIdleMinutes', 480, '15 suits a window clerk').default(15)
    .describe('A signed-in person\'s session ends after this many minutes without a change made or asked for by them (the clerk station\'s own refreshes and the event stream do not count); the station then asks for the password again.'),
  sessionHours: z.number().int('sessionHours is a whole number of hours').min(1, 'sessionHours is 1–24 hours (12: a working day)').max(24, 'sessionHours is 1–24 hours (12: a working day)').default(12)
    .describe('A session ends this many hours after its sign-in, however busy it was.'),
  lockoutAfterFailures: z.number().int().min(3, 'lockoutAfterFailures is 3–20 (5 lets a person mistype a few times)').max(20, 'lockoutAfterFailures is 3–20 (5 lets a person mistype a few times)').default(5)
    .describe('Wrong passwords in a row that lock a name (kept in the database, so a restart does not lift it); unknown names are locked alike, so a lock tells nothing about which names exist.'),
  lockoutMinutes: minutes('lockoutMinutes', 1440, '15 slows guessing to a crawl').default(15)
    .describe('How long a locked name is refused, even with the right password; wrong passwords while it is locked do not make it longer.'),
}).strict();
export type StaffConfig = z.infer<typeof staffSchema>;
