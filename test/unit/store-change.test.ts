import { describe, expect, it } from 'vitest';
import { EventBus } from '../../controller/events/bus.ts';
import { openDatabase } from '../../controller/store/database.ts';
import type { CabinetEvent } from '../../controller/store/event-outbox.ts';
import { CabinetStore } from '../../controller/store/store.ts';

function store() {
  const bus = new EventBus((e) => { throw e; });
  const seen: CabinetEvent[] = [];
  bus.events.add((e) => seen.push(e));
  return { s: new CabinetStore(openDatabase(':memory:'), 'boot-1', bus, { now: () => 1_700_000_000_000 }), seen };
}

describe('one transaction per change', () => {
  it('a change that throws leaves no row, no event, no seq used, and runs no after-commit action', () => {
    const { s, seen } = store();
    let pulsed = false;
    expect(() => s.change((ctx) => {
      ctx.event('item.loaded', { n: 1 });
      ctx.audit('clerk:li', 'item.loaded', {});
      ctx.afterCommit(() => { pulsed = true; });
      throw new Error('refused');
    })).toThrow('refused');
    expect(seen).toEqual([]);
    expect(pulsed).toBe(false);
    expect(s.outbox.after(0)).toEqual([]);
    expect(s.audit.verify()).toMatchObject({ ok: true, entries: 0 });
    const e = s.change((ctx) => ctx.event('case.created', {}));
    expect(e.seq).toBe(1); // the rolled-back change used no number
  });

  it('an inner change that fails is undone alone; the outer change commits and announces only its own', () => {
    const { s, seen } = store();
    const actions: string[] = [];
    s.change((ctx) => {
      ctx.event('outer.before', {});
      try {
        s.change((inner) => {
          inner.event('inner.lost', {});
          inner.afterCommit(() => actions.push('inner'));
          throw new Error('inner refused');
        });
      } catch { /* the outer decides to go on */ }
      ctx.event('outer.after', {});
      ctx.afterCommit(() => actions.push('outer'));
    });
    expect(seen.map((e) => [e.seq, e.type])).toEqual([[1, 'outer.before'], [2, 'outer.after']]);
    expect(s.outbox.after(0).map((e) => e.type)).toEqual(['outer.before', 'outer.after']);
    expect(actions).toEqual(['outer']);
  });

  it('events reach listeners only after the commit, in seq order', () => {
    const { s, seen } = store();
    s.change((ctx) => {
      ctx.event('a', {});
      expect(seen).toEqual([]);
      ctx.event('b', {});
    });
    expect(seen.map((e) => e.seq)).toEqual([1, 2]);
  });
});
