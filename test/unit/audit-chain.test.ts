import { describe, expect, it } from 'vitest';
import { AuditChain, canonicalJson } from '../../controller/store/audit-chain.ts';
import { openDatabase } from '../../controller/store/database.ts';

describe('audit chain', () => {
  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('verifies an intact chain and names the first altered entry', () => {
    const db = openDatabase(':memory:');
    const chain = new AuditChain(db);
    for (let i = 0; i < 5; i++) chain.append('clerk:li', 'item.loaded', { n: i }, 1_700_000_000_000 + i);
    const ok = chain.verify();
    expect(ok).toMatchObject({ ok: true, entries: 5 });
    db.prepare(`UPDATE audit SET data = '{"n":99}' WHERE seq = 3`).run();
    expect(chain.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('a deleted entry breaks the chain at that entry', () => {
    const db = openDatabase(':memory:');
    const chain = new AuditChain(db);
    for (let i = 0; i < 4; i++) chain.append('ops:wang', 'compartment.disabled', { i }, 1_700_000_000_000);
    db.prepare('DELETE FROM audit WHERE seq = 2').run();
    expect(chain.verify()).toMatchObject({ ok: false, brokenAt: 2 });
  });
});
