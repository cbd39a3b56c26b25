import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import { barcodeSchema, newCaseSchema } from '../../controller/services/cases.ts';
import { caseNoSchema, plainText } from '../../controller/domain/plain-text.ts';
import { Refusal } from '../../controller/domain/refusal.ts';
import { access, actorOf, mayOf, type StaffAuth } from '../auth.ts';

const caseStates = ['awaiting-items', 'ready', 'picking-up', 'collected', 'overdue', 'retrieved'] as const;
const caseNoParam = z.object({ caseNo: caseNoSchema });
const compartmentParam = z.object({ id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a compartment id is like "A01"') });

/** Clerks' and ops' resources: compartments, cases, loads, credentials, retrieval. */
export const cabinetRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; auth: StaffAuth }> = async (app, { cabinet, auth }) => {
  const { services } = cabinet;
  const clerk = auth.require(access.clerk);
  const view = auth.require(access.view);
  const ops = auth.require(access.ops);

  // Who the bearer (or the signed-in person) is, so a page can check a sign-in and offer only what the role may do.
  app.get('/me', { onRequest: view }, async (request) => {
    const { name, role } = request.user!;
    return { name, role, may: mayOf(role) };
  });

  app.get('/compartments', { onRequest: view }, async () =>
    services.compartments.list().map(({ id, size, state, caseNo, door, note, hold }) => ({ id, size, state, caseNo, door, note, hold })));

  app.post('/cases', { onRequest: clerk, schema: { body: newCaseSchema } }, async (request, reply) =>
    reply.code(201).send(services.cases.create(request.body, actorOf(request))));

  app.get('/cases', { onRequest: view, schema: { querystring: z.object({ state: z.enum(caseStates, { error: `state is one of ${caseStates.join(', ')}` }).optional() }) } }, async (request) =>
    services.cases.list(request.query.state));

  app.get('/cases/:caseNo', { onRequest: view, schema: { params: caseNoParam } }, async (request) => {
    const found = services.cases.view(request.params.caseNo);
    if (!found) throw new Refusal('not-found', 'unknown-case', `no case ${request.params.caseNo}: check the case number`, {}, 'caseNo');
    return found;
  });

  app.post('/cases/:caseNo/notify', { onRequest: clerk, schema: { params: caseNoParam } }, async (request) =>
    services.cases.reissue(request.params.caseNo, actorOf(request)));

  app.post('/cases/:caseNo/retrieve', { onRequest: clerk, schema: { params: caseNoParam } }, async (request, reply) =>
    reply.code(202).send(services.retrieval.retrieve(request.params.caseNo, actorOf(request))));

  app.post('/loads', { onRequest: clerk, schema: { body: z.object({ barcode: barcodeSchema }).strict() } }, async (request, reply) =>
    reply.code(202).send(services.loading.start(request.body.barcode, actorOf(request))));

  app.get('/loads/:loadId', { onRequest: view, schema: { params: z.object({ loadId: z.uuid('a loadId is the UUID POST /loads answered') }) } }, async (request) => {
    const load = services.loading.state(request.params.loadId);
    if (!load) throw new Refusal('not-found', 'unknown-load', `no load ${request.params.loadId}`, {}, 'loadId');
    return load;
  });

  app.post('/compartments/:id/open', { onRequest: ops, schema: { params: compartmentParam, body: z.object({ reason: plainText(200, 'reason').pipe(z.string().min(3, 'say why the door is opened (at least 3 characters): it goes into the audit chain')) }).strict() } }, async (request, reply) =>
    reply.code(202).send(services.compartments.remoteOpen(request.params.id, request.body.reason, actorOf(request))));

  // nullish: fastify hands a bodyless POST (curl -X POST) to the validator as null.
  const disableBody = z.object({ reason: plainText(200, 'reason', { required: false }).optional() }).strict().nullish();
  app.post('/compartments/:id/disable', { onRequest: ops, schema: { params: compartmentParam, body: disableBody } }, async (request) =>
    services.compartments.disable(request.params.id, request.body?.reason, actorOf(request)));

  app.post('/compartments/:id/enable', { onRequest: ops, schema: { params: compartmentParam } }, async (request) =>
    services.compartments.enable(request.params.id, actorOf(request)));

  // A clerk has looked inside a compartment held because of its item sensor (an item left after a pickup,
  // something unexpected) and emptied it: it may be loaded again. Audited; refused while something is still seen.
  const clearBody = z.object({ note: plainText(200, 'note', { required: false }).optional() }).strict().nullish();
  app.post('/compartments/:id/clear', { onRequest: clerk, schema: { params: compartmentParam, body: clearBody } }, async (request) =>
    services.compartments.clear(request.params.id, request.body?.note, actorOf(request)));

  // Alarms (a forced or jammed door, an unverified open, the remote-open cap, the daily ceiling) stay open until ops acknowledge them.
  app.get('/alarms', { onRequest: view }, async () => services.alarms.open());
  const ackBody = z.object({ note: plainText(200, 'note', { required: false }).optional() }).strict().nullish();
  app.post('/alarms/:id/ack', { onRequest: ops, schema: { params: z.object({ id: z.coerce.number().int('an alarm id is a whole number from GET /api/v1/alarms').positive('an alarm id is a whole number from GET /api/v1/alarms') }), body: ackBody } }, async (request) =>
    services.alarms.acknowledge(request.params.id, actorOf(request), request.body?.note));

  app.get('/pickup-guard', { onRequest: view }, async () => services.pickup.guardStatus());
  app.post('/pickup-guard/resume', { onRequest: clerk }, async (request) => {
    services.pickup.resumeCodeEntry(actorOf(request));
    return services.pickup.guardStatus();
  });
};
