import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import type { PickupRequest } from '../../controller/services/pickup.ts';
import { idSuffixSchema } from '../../controller/domain/identifiers.ts';
import { openSse } from '../sse.ts';

const idSuffix = idSuffixSchema;
const pickupBody = z.union([
  z.object({ code: z.string().trim().regex(/^\d{8}$/, 'code is the 8-digit pickup code from the SMS'), idSuffix: idSuffix.optional() }).strict(),
  z.object({ qr: z.string().trim().min(1).max(256), idSuffix: idSuffix.optional() }).strict(),
  z.object({ scanId: z.uuid('scanId is the id the kiosk received with "need-id"'), idSuffix }).strict(),
], { error: 'send {"code":"12345678","idSuffix":"011235"}, or {"scanId","idSuffix"} after a scan asked for the ID' });

/** A small fixed-window limiter: the kiosk is one screen, so a burst beyond a person's pace is refused. */
function rateLimiter(limit: number, windowMs: number) {
  const hits = new Map<string, { count: number; start: number }>();
  return (key: string, now: number): number | null => {
    const h = hits.get(key);
    if (!h || now - h.start >= windowMs) {
      if (hits.size > 1000) hits.clear();
      hits.set(key, { count: 1, start: now });
      return null;
    }
    h.count++;
    return h.count > limit ? Math.ceil((h.start + windowMs - now) / 1000) : null;
  };
}

/** The applicant's side: no sign-in, nothing personal in any answer. */
export const kioskRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet }> = async (app, { cabinet }) => {
  const limited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  const clients = new Set(cabinet.config.api.kioskClients);
  // The kiosk endpoints need no sign-in, so they answer only the cabinet's own screen (api.kioskClients).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/v1/kiosk/') || clients.has('*') || clients.has(request.ip)) return;
    return reply.code(403).send({ error: `the kiosk endpoints answer only the cabinet's own screen; ${request.ip} is not in api.kioskClients`, issues: [{ path: 'api.kioskClients', message: 'client address not allowed' }] });
  });

  app.post('/kiosk/pickup', { schema: { body: pickupBody } }, async (request, reply) => {
    const wait = limited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many tries at once: wait ${wait} s`, issues: [] });
    return cabinet.services.pickup.pickup(request.body as PickupRequest, 'kiosk');
  });

  app.get('/kiosk/events', (request, reply) => {
    const sse = openSse(request, reply);
    sse.send('hello', { cabinetId: cabinet.config.cabinetId, helpWindow: cabinet.config.policy.helpWindow });
    const off = cabinet.bus.kiosk.add((message) => sse.send(message.type, message));
    sse.onClose(off);
  });
};
