import { describe, expect, it } from 'vitest';
import { StaffSessions } from '../../controller/services/staff-sessions.ts';
import type { UserRow } from '../../controller/store/users-repo.ts';

const li: UserRow = { id: 1, name: 'li', role: 'clerk', createdAt: 0 };
const wang: UserRow = { id: 2, name: 'wang', role: 'ops', createdAt: 0 };
const MINUTE = 60_000;

describe('StaffSessions', () => {
  it('a session id is 256 random bits; an unknown or malformed id finds nothing', () => {
    const sessions = new StaffSessions({ idleMs: 15 * MINUTE, lifetimeMs: 12 * 60 * MINUTE });
    const a = sessions.start(li, false, 0);
    const b = sessions.start(li, false, 0);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(sessions.find(a, 0, false)).toMatchObject({ userId: 1, name: 'li', role: 'clerk', mustChangePassword: false });
    for (const id of ['', 'x', a.slice(0, 42), `${a}=`, a.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) expect(sessions.find(id, 0, false)).toBeNull();
  });

  it('ends after the idle time without activity, and at the lifetime whatever the activity', () => {
    const sessions = new StaffSessions({ idleMs: 15 * MINUTE, lifetimeMs: 60 * MINUTE });
    const id = sessions.start(li, false, 0);
    expect(sessions.find(id, 14 * MINUTE, true)).not.toBeNull(); // active: the idle time starts again
    expect(sessions.find(id, 28 * MINUTE, false)).not.toBeNull(); // a passive look does not restart it
    expect(sessions.find(id, 29 * MINUTE, false)).toBeNull();
    expect(sessions.size).toBe(0);
    const busy = sessions.start(li, false, 0);
    for (let t = 10; t < 60; t += 10) expect(sessions.find(busy, t * MINUTE, true)).not.toBeNull();
    expect(sessions.find(busy, 60 * MINUTE, true)).toBeNull();
  });

  it('a person holds at most 10 sessions (the oldest ends); all of theirs but one can be ended at once', () => {
    const sessions = new StaffSessions({ idleMs: 15 * MINUTE, lifetimeMs: 60 * MINUTE });
    const ids = Array.from({ length: 11 }, (_, i) => sessions.start(li, i === 10, i));
    const other = sessions.start(wang, false, 0);
    expect(sessions.find(ids[0]!, 11, false)).toBeNull();
    expect(sessions.find(ids[1]!, 11, false)).not.toBeNull();
    expect(sessions.find(ids[10]!, 11, false)?.mustChangePassword).toBe(true);
    sessions.passwordSet(ids[10]!);
    expect(sessions.find(ids[10]!, 11, false)?.mustChangePassword).toBe(false);
    expect(sessions.endAllOf(li.id, ids[10])).toBe(9);
    expect(sessions.find(ids[10]!, 11, false)).not.toBeNull();
    expect(sessions.find(other, 11, false)).not.toBeNull();
    expect(sessions.end(ids[10]!)).toMatchObject({ name: 'li' });
    expect(sessions.end(ids[10]!)).toBeNull();
  });

  it('past the total the oldest session ends', () => {
    const sessions = new StaffSessions({ idleMs: 15 * MINUTE, lifetimeMs: 60 * MINUTE, maxSessions: 3 });
    const ids = [li, wang, { ...li, id: 3, name: 'zhao' }, { ...li, id: 4, name: 'sun' }].map((u) => sessions.start(u, false, 0));
    expect(sessions.size).toBe(3);
    expect(sessions.find(ids[0]!, 0, false)).toBeNull();
    expect(sessions.find(ids[3]!, 0, false)).not.toBeNull();
  });
});
