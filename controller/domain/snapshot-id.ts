import { z } from 'zod';

// A still's id names the day it was taken, so its file is found without a table:
// `20261130-9f3c0a1b2c3d4e5f60718293` is `snapshots/2026-11-30/20261130-9f3c0a1b2c3d4e5f60718293.jpg`. Days
// are UTC days. The 96 random bits make ids unguessable and never repeated. Pure functions, no I/O.

/** Eight digits of the day (YYYYMMDD, UTC), a dash, 24 lower-case hex digits. Nothing else reaches a path. */
export const SNAPSHOT_ID = /^(\d{4})(\d{2})(\d{2})-[0-9a-f]{24}$/;

const DAY_MS = 86_400_000;

/** The UTC day of `ms` as `YYYY-MM-DD` (a day directory's name). */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** A new id for a still taken at `now`; `random` is 12 random bytes. */
export function newSnapshotId(now: number, random: Uint8Array): string {
  if (random.length !== 12) throw new Error('a snapshot id takes 12 random bytes');
  return `${dayOf(now).replace(/-/g, '')}-${Buffer.from(random).toString('hex')}`;
}

/** The day directory (`YYYY-MM-DD`) of a well-formed id of a real calendar day; null for anything else. */
export function snapshotDay(id: string): string | null {
  const m = SNAPSHOT_ID.exec(id);
  if (!m) return null;
  const day = `${m[1]}-${m[2]}-${m[3]}`;
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isFinite(ms) && dayOf(ms) === day ? day : null;
}

/** The path parameter of GET /snapshots/:id, refused by name when it is not an id. */
const NOT_AN_ID = 'id is a snapshot id from a door event\'s data.snapshot: the day (YYYYMMDD), a dash and 24 hex digits, e.g. "20261130-9f3c0a1b2c3d4e5f60718293"';
export const snapshotIdSchema = z.string().regex(SNAPSHOT_ID, { error: NOT_AN_ID, abort: true }).refine((id) => snapshotDay(id) !== null, { error: NOT_AN_ID });

/**
 * The first day still kept with `retentionDays` on `now`'s day: today and the `retentionDays` days before it
 * are kept; a day directory named before this one is deleted.
 */
export const firstKeptDay = (now: number, retentionDays: number): string => dayOf(now - retentionDays * DAY_MS);

/** A day directory's name (`YYYY-MM-DD`), as the sweep reads the snapshot folder; anything else is left alone. */
export const isDayName = (name: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(name) && dayOf(Date.parse(`${name}T00:00:00Z`) || 0) === name;
