import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import { snapshotIdSchema } from '../../controller/domain/snapshot-id.ts';
import { access, actorOf, type StaffAuth } from '../auth.ts';

/** The camera's stills of door events, by the id a `door.opened` / `door.closed` event names: ops only, each view audited. */
export const snapshotRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; auth: StaffAuth }> = async (app, { cabinet, auth }) => {
  app.get('/snapshots/:id', { onRequest: auth.require(access.ops), schema: { params: z.object({ id: snapshotIdSchema }) } }, async (request, reply) => {
    const jpeg = await cabinet.context.evidence.still(request.params.id, actorOf(request));
    // Evidence of who took what: no browser or proxy keeps a copy.
    return reply.header('content-type', 'image/jpeg').header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(jpeg);
  });
};
