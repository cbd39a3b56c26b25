import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import { access, type StaffAuth } from '../auth.ts';
import { openSse } from '../../http-common/sse.ts';
import type { StreamSlots } from '../stream-slots.ts';

/** Health, the audit chain, and the live event stream (the same events as MQTT `…/events`). */
export const observeRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; auth: StaffAuth; streams: StreamSlots }> = async (app, { cabinet, auth, streams }) => {

  app.get('/health', async () => cabinet.health());

  app.get('/audit', { onRequest: auth.require(access.ops), schema: { querystring: z.object({ after: z.coerce.number().int().min(0, 'after is an audit seq, 0 or more').default(0), limit: z.coerce.number().int().min(1).max(1000).default(500) }) } }, async (request) =>
    cabinet.store.audit.after(request.query.after, request.query.limit));

  app.get('/audit/verify', { onRequest: auth.require(access.ops) }, async () => cabinet.store.audit.verify());

  app.get('/events', { onRequest: auth.require(access.view, { queryToken: true, passive: true }) }, (request, reply) => {
    const release = streams.acquire(request, reply);
    if (!release) return;
    const sse = openSse(request, reply);
    sse.onClose(release);
    // A page signed in by its session cookie: the stream ends with the session (sign-out, idle, too old).
    sse.onClose(auth.whileSignedIn(request, () => reply.raw.end()));
    // A page that reconnects says where it stopped; it gets what it missed from the outbox first.
    const lastId = Number(request.headers['last-event-id'] ?? (request.query as Record<string, string>).after ?? NaN);
    if (Number.isInteger(lastId) && lastId >= 0) for (const e of cabinet.store.outbox.after(lastId, 1000)) sse.send(e.type, e, e.seq);
    const off = cabinet.bus.events.add((e) => sse.send(e.type, e, e.seq));
    sse.onClose(off);
  });
};
