import { describe, expect, it } from 'vitest';
import { SwitchChatter } from '../../controller/domain/switch-chatter.ts';

describe('a door switch that changes faster than a person can open a door', () => {
  it('is faulty at the tenth edge within five seconds, not before, and each door counts on its own', () => {
    const chatter = new SwitchChatter({ edges: 10, withinMs: 5000 });
    for (let i = 0; i < 9; i++) expect(chatter.record('A01', i * 100)).toBe(false);
    expect(chatter.record('B01', 900)).toBe(false);
    expect(chatter.record('A01', 900)).toBe(true);
  });

  it('forgets edges older than the window, so a busy but normal door is never faulty', () => {
    const chatter = new SwitchChatter({ edges: 10, withinMs: 5000 });
    // Someone opening and closing a door every second, all day.
    for (let i = 0; i < 1000; i++) expect(chatter.record('A01', i * 1000)).toBe(false);
  });

  it('starts counting afresh once forgotten (the switch was repaired)', () => {
    const chatter = new SwitchChatter({ edges: 4, withinMs: 5000 });
    for (let i = 0; i < 3; i++) chatter.record('A01', i);
    chatter.forget('A01');
    expect(chatter.record('A01', 10)).toBe(false);
  });
});
