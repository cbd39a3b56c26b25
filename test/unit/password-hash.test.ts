import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../../controller/secrets/password-hash.ts';

describe('staff passwords at rest', () => {
  it('verifies the password a hash was made from and nothing else; two hashes of one password differ (salt)', async () => {
    const a = await hashPassword('门前大桥下游过一群鸭');
    const b = await hashPassword('门前大桥下游过一群鸭');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('门前大桥下游过一群鸭', a)).toBe(true);
    expect(await verifyPassword('门前大桥下游过一群鸭 ', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('a damaged or foreign stored hash never verifies (and does not throw)', async () => {
    const good = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', good.replace('scrypt$', 'bcrypt$'))).toBe(false);
    expect(await verifyPassword('correct horse battery', good.slice(0, -4))).toBe(false);
    expect(await verifyPassword('correct horse battery', 'scrypt$99999999999$8$1$AAAA$BBBB')).toBe(false);
    expect(await verifyPassword('correct horse battery', '')).toBe(false);
  });

  it('the policy says what is wrong and how to fix it', () => {
    expect(passwordProblem('short1', 'li.na')).toMatch(/6 characters: use at least 10/);
    expect(passwordProblem('password123', 'li.na')).toMatch(/attackers try/);
    expect(passwordProblem('demo-token', 'li.na')).toMatch(/attackers try/);
    expect(passwordProblem('aaaaaaaaaaaa', 'li.na')).toMatch(/repeats one character/);
    expect(passwordProblem('xx-li.na-2026-yy', 'li.na')).toMatch(/name/);
    expect(passwordProblem('x'.repeat(129) + 'y', 'li.na')).toMatch(/at most 128/);
    expect(passwordProblem('窗口三号的春天来了', 'li.na')).toMatch(/9 characters/); // counted in characters, not bytes
    expect(passwordProblem('窗口三号的春天来了吧', 'li.na')).toBeNull();
  });
});
