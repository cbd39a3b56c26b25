import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import { barcodeSchema, newCaseSchema } from '../../controller/services/cases.ts';
import { caseNoSchema, plainText } from '../../controller/domain/plain-text.ts';
import { Refusal } from '../../controller/domain/refusal.ts';
import { caseStates } from '../../controller/domain/types.ts';
import { access, actorOf, mayOf, type StaffAuth } from '../auth.ts';

const caseNoParam = z.object({ caseNo: caseNoSchema });
const compartmentParam = z.object({ id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a compartment id is like "A01"') });

/** Clerks' and ops' resources: compartments, cases, loads, credentials, retrieval; the hall system's cases; couriers' loads. */
export const cabinetRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; auth: StaffAuth }> = async (app, { cabinet, auth }) => {
  const { services } = cabinet;
  const { users } = cabinet.context.repos;
  const clerk = auth.require(access.clerk);
  const view = auth.require(access.view);
  const ops = auth.require(access.ops);
  const loaders = auth.require(access.loaders);

  // Who the bearer (or the signed-in person) is, so a page can check a sign-in and offer only what the role may do.
  app.get('/me', { onRequest: auth.require([...access.view, 'courier']) }, async (request) => {
    const { id, name, role } = request.user!;
    return { name, role, may: mayOf(role), ...(role === 'courier' ? { itemTypes: users.itemTypesOf(id) } : {}) };
  });

  app.get('/compartments', { onRequest: view }, async () =>
    services.compartments.list().map(({ id, size, state, caseNo, door, note, hold }) => ({ id, size, state, caseNo, door, note, hold })));

  // A clerk's case number already on file is a mistake (409 duplicate-case); the hall system may send a case
  // again: the same case is answered 200, another case under the same number 409 naming what differs.
  app.post('/cases', { onRequest: auth.require(access.caseSenders), schema: { body: newCaseSchema } }, async (request, reply) => {
    if (request.user!.role !== 'integration') return reply.code(201).send(services.cases.create(request.body, actorOf(request)));
    const sent = services.hallCases.create(request.body, actorOf(request));
    return reply.code(sent.created ? 201 : 200).send(sent.case);
  });

  // The hall system amends a case (the whole case as it should now be) or cancels it.
  app.put('/cases/:caseNo', { onRequest: auth.require(access.hallSystem), schema: { params: caseNoParam, body: newCaseSchema } }, async (request) => {
    if (request.body.caseNo !== request.params.caseNo) throw new Refusal('invalid', 'case-number-mismatch', `the body is case ${request.body.caseNo} but the path names ${request.params.caseNo}: send the case to its own URL`, {}, 'caseNo');
    return services.hallCases.amend(request.body, actorOf(request));
  });

  app.post('/cases/:caseNo/cancel', { onRequest: auth.require(access.hallSystem), schema: { params: caseNoParam } }, async (request) =>
    services.hallCases.cancel(request.params.caseNo, actorOf(request)));

  app.get('/cases', { onRequest: view, schema: { querystring: z.object({ state: z.enum(caseStates, { error: `state is one of ${caseStates.join(', ')}` }).optional() }) } }, async (request) =>
    services.cases.list(request.query.state));

  app.get('/cases/:caseNo', { onRequest: auth.require(access.caseLookup), schema: { params: caseNoParam } }, async (request) => {
    const found = services.cases.view(request.params.caseNo);
    if (!found) throw new Refusal('not-found', 'unknown-case', `no case ${request.params.caseNo}: check the case number`, {}, 'caseNo');
    return found;
  });

  // Documents deposited at the kiosk (容缺材料) waiting for a clerk, and taking one out (its door opens).
  app.get('/deposits', { onRequest: view }, async () => services.deposits.waiting());

  // A department returns something to the window: a courier (or clerk) names the case, a door opens for it.
  app.post('/deposits', { onRequest: loaders, schema: { body: z.object({ caseNo: caseNoSchema }).strict() } }, async (request, reply) =>
    reply.code(202).send(services.deposits.depositForWindow(request.body.caseNo, actorOf(request))));

  app.get('/deposits/:id', { onRequest: auth.require(access.loadLookup), schema: { params: z.object({ id: z.uuid('id is a deposit\'s id') }) } }, async (request) => {
    const found = services.deposits.view(request.params.id);
    // A courier sees their own returns only; any other id is as unknown to them as one that never was.
    if (!found || (request.user!.role === 'courier' && found.depositedBy !== actorOf(request))) throw new Refusal('not-found', 'unknown-deposit', `no deposit ${request.params.id}`, {}, 'id');
    return found;
  });

  app.post('/deposits/:id/retrieve', { onRequest: clerk, schema: { params: z.object({ id: z.uuid('id is a deposit\'s id from GET /deposits') }) } }, async (request, reply) =>
    reply.code(202).send(services.deposits.retrieve(request.params.id, actorOf(request))));

  app.post('/cases/:caseNo/notify', { onRequest: clerk, schema: { params: caseNoParam } }, async (request) =>
    services.cases.reissue(request.params.caseNo, actorOf(request)));

  app.post('/cases/:caseNo/retrieve', { onRequest: clerk, schema: { params: caseNoParam } }, async (request, reply) =>
    reply.code(202).send(services.retrieval.retrieve(request.params.caseNo, actorOf(request))));

  // A courier loads only the item types of their department.
  app.post('/loads', { onRequest: loaders, schema: { body: z.object({ barcode: barcodeSchema }).strict() } }, async (request, reply) => {
    const { id, name, role } = request.user!;
    const courier = role === 'courier' ? { name, itemTypes: users.itemTypesOf(id) } : undefined;
    return reply.code(202).send(services.loading.start(request.body.barcode, actorOf(request), courier));
  });

  // Couriers' refused scans and aborted loads of the last day, newest first: the clerk's loading alerts.
  app.get('/loading-alerts', { onRequest: view }, async () => services.loading.alerts());

  app.get('/loads/:loadId', { onRequest: auth.require(access.loadLookup), schema: { params: z.object({ loadId: z.uuid('a loadId is the UUID POST /loads answered') }) } }, async (request) => {
    const load = services.loading.state(request.params.loadId, request.user!.role === 'courier' ? actorOf(request) : undefined);
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
