import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/cabinet-harness.ts';
import { addUser } from '../support/cabinet-steps.ts';

// GET /api/v1/me: the pages check a token at sign-in with it and offer only what the role may do.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

describe('GET /api/v1/me', () => {
  it('names the bearer and says what the role may do; an unknown token gets 401', async () => {
    const clerk = addUser(h, 'li', 'clerk');
    const ops = addUser(h, 'wang', 'ops');
    expect((await h.call('GET', '/api/v1/me', undefined, clerk)).json).toEqual({ name: 'li', role: 'clerk', may: { loadAndCreate: true, acknowledgeAlarms: false, openRemotely: false, load: true, viewCabinet: true } });
    expect((await h.call('GET', '/api/v1/me', undefined, ops)).json).toEqual({ name: 'wang', role: 'ops', may: { loadAndCreate: false, acknowledgeAlarms: true, openRemotely: true, load: false, viewCabinet: true } });
    expect((await h.call('GET', '/api/v1/me')).json).toMatchObject({ role: 'admin', may: { loadAndCreate: true, acknowledgeAlarms: true, openRemotely: true } });
    // A courier loads their department's item types and sees nothing else; the hall system's token is no station's.
    h.controller.cabinet.context.repos.users.add('sun', 'courier', 'courier-token-sun-0123456789', Date.now(), ['seal', 'invoice']);
    expect((await h.call('GET', '/api/v1/me', undefined, 'courier-token-sun-0123456789')).json).toEqual({
      name: 'sun', role: 'courier', itemTypes: ['seal', 'invoice'], may: { loadAndCreate: false, acknowledgeAlarms: false, openRemotely: false, load: true, viewCabinet: false },
    });
    h.controller.cabinet.context.repos.users.add('hall', 'integration', 'integration-token-0123456789', Date.now());
    expect((await h.call('GET', '/api/v1/me', undefined, 'integration-token-0123456789')).status).toBe(403);
    expect((await h.call('GET', '/api/v1/me', undefined, 'no-such-token')).status).toBe(401);
    expect((await h.call('GET', '/api/v1/me', undefined, null)).status).toBe(401);
    // A token in the URL ends up in proxies' logs and browser history: only the event streams take one.
    const byQuery = await h.controller.api.inject({ method: 'GET', url: `/api/v1/me?token=${encodeURIComponent(clerk)}` });
    expect(byQuery.statusCode).toBe(401);
  });
});
