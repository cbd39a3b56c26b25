import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import type { PickupRequest } from '../../controller/services/pickup.ts';
import { IdCardService } from '../../controller/services/id-card.ts';
import { idSuffixSchema } from '../../controller/domain/identifiers.ts';
import { caseNoSchema } from '../../controller/domain/plain-text.ts';
import { cabinetLayout } from '../../controller/domain/layout.ts';
import { itemTypeNames, returnReasons } from '../../controller/domain/types.ts';
import { FOLLOW_UP_AT_OR_BELOW, ratingReasons, type RatingLevel } from '../../controller/domain/rating.ts';
import { openSse } from '../../http-common/sse.ts';
import type { StreamSlots } from '../stream-slots.ts';

// The second factor: the ID suffix typed, or a card read from the ID-card reader (CONTRACT §7), never both.
const secondFactor = {
  idSuffix: idSuffixSchema.optional(),
  idCardReadId: z.uuid('idCardReadId is the readId the kiosk stream sent with "id-card"').optional(),
};
const oneFactor: [(body: { idSuffix?: string; idCardReadId?: string }) => boolean, { path: string[]; message: string }] = [
  (body) => body.idSuffix === undefined || body.idCardReadId === undefined,
  { path: ['idCardReadId'], message: 'send idSuffix (typed) or idCardReadId (read from the ID card), not both' },
];
const pickupBody = z.union([
  z.object({ code: z.string().trim().regex(/^\d{8}$/, 'code is the 8-digit pickup code from the SMS'), ...secondFactor }).strict().refine(...oneFactor),
  z.object({ qr: z.string().trim().min(1).max(256), ...secondFactor }).strict().refine(...oneFactor),
  z.object({ scanId: z.uuid('scanId is the id the kiosk received with "need-id"'), ...secondFactor }).strict().refine(...oneFactor)
    .refine((body) => body.idSuffix !== undefined || body.idCardReadId !== undefined, { path: ['idSuffix'], message: 'scanId needs idSuffix (typed) or idCardReadId (read from the ID card)' }),
], { error: 'send {"code":"12345678","idSuffix":"011235"} (or "idCardReadId" from the ID-card reader), or {"scanId","idSuffix"|"idCardReadId"} after a scan asked for the ID' });

// "没收到取件码？": the case number with the second factor, as at a pickup.
const resendBody = z.object({ caseNo: caseNoSchema, ...secondFactor }).strict().refine(...oneFactor)
  .refine((body) => body.idSuffix !== undefined || body.idCardReadId !== undefined, { path: ['idSuffix'], message: 'send the last 6 characters of the ID number (idSuffix) or an ID card read (idCardReadId) with the case number' });

// 容缺材料: the case number with the applicant's (or agent's) ID, as for a resend.
const depositBody = z.object({ caseNo: caseNoSchema, ...secondFactor }).strict().refine(...oneFactor)
  .refine((body) => body.idSuffix !== undefined || body.idCardReadId !== undefined, { path: ['idSuffix'], message: 'send the last 6 characters of the applicant\'s or agent\'s ID number (idSuffix) or an ID card read (idCardReadId) with the case number' });

// 材料有误，退回窗口: the case whose doors are open now, and why (fixed choices).
const returnBody = z.object({
  caseNo: caseNoSchema,
  reasons: z.array(z.enum(returnReasons, { error: `each reason is one of ${returnReasons.join(', ')}` }))
    .min(1, `give at least one reason: ${returnReasons.join(', ')}`).max(returnReasons.length, 'each reason at most once'),
}).strict();

const levelHint = 'level is the 好差评 rating: 5 = 非常满意, 4 = 满意, 3 = 基本满意, 2 = 不满意, 1 = 非常不满意';
const ratingBody = z.object({
  caseNo: caseNoSchema,
  level: z.number({ error: levelHint }).int(levelHint).min(1, levelHint).max(5, levelHint),
  reasons: z.array(z.enum(ratingReasons, { error: `each reason is one of ${ratingReasons.join(', ')}` })).max(ratingReasons.length, 'each reason at most once').optional(),
}).strict().superRefine((body, ctx) => {
  if (body.reasons?.length && body.level > FOLLOW_UP_AT_OR_BELOW) {
    ctx.addIssue({ code: 'custom', path: ['reasons'], message: `reasons are asked only for 不满意 or 非常不满意 (level ${FOLLOW_UP_AT_OR_BELOW} or lower): leave them out` });
  }
});

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
export const kioskRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; streams: StreamSlots }> = async (app, { cabinet, streams }) => {
  const limited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  const clients = new Set(cabinet.config.api.kioskClients);
  // The kiosk endpoints need no sign-in, so they answer only the cabinet's own screen (api.kioskClients).
  // This plugin is encapsulated: the hook runs for exactly the routes declared here, whatever spelling of
  // the URL the router matched (percent-encoded, mixed case), so it never looks at the URL text itself.
  app.addHook('onRequest', async (request, reply) => {
    if (clients.has('*') || clients.has(request.ip)) return;
    return reply.code(403).send({ error: `the kiosk endpoints answer only the cabinet's own screen; ${request.ip} is not in api.kioskClients`, issues: [{ path: 'api.kioskClients', message: 'client address not allowed' }] });
  });

  app.post('/kiosk/pickup', { schema: { body: pickupBody } }, async (request, reply) => {
    const wait = limited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many tries at once: wait ${wait} s`, issues: [] });
    return cabinet.services.pickup.pickup(request.body as PickupRequest, 'kiosk');
  });

  // A lost code sent again: its own per-client budget; the per-case and per-cabinet limits are the controller's.
  const resendLimited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  app.post('/kiosk/resend', { schema: { body: resendBody } }, async (request, reply) => {
    const wait = resendLimited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many tries at once: wait ${wait} s`, issues: [] });
    return cabinet.services.lostCode.resend(request.body);
  });

  // A deposit opens a door like a pickup: its own per-client budget; wrong IDs count against the cabinet's guard.
  const depositLimited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  app.post('/kiosk/deposit', { schema: { body: depositBody } }, async (request, reply) => {
    const wait = depositLimited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many tries at once: wait ${wait} s`, issues: [] });
    return cabinet.services.deposits.deposit(request.body);
  });

  const returnLimited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  app.post('/kiosk/return', { schema: { body: returnBody } }, async (request, reply) => {
    const wait = returnLimited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many tries at once: wait ${wait} s`, issues: [] });
    return cabinet.services.pickup.requestReturn(request.body.caseNo, request.body.reasons);
  });

  // A rating is one tap per case; its own budget, so rating never eats into the applicant's pickup tries.
  const ratingLimited = rateLimiter(cabinet.config.policy.kioskRequestsPer10s, 10_000);
  app.post('/kiosk/rating', { schema: { body: ratingBody } }, async (request, reply) => {
    const wait = ratingLimited(request.ip, Date.now());
    if (wait !== null) return reply.code(429).header('retry-after', String(wait)).send({ error: `too many ratings at once: wait ${wait} s`, issues: [] });
    const { caseNo, level, reasons } = request.body;
    return reply.code(201).send(cabinet.services.rating.rate({ caseNo, level: level as RatingLevel, reasons }, 'kiosk'));
  });

  // The cabinet's face for the kiosk's map: ids, sizes and places from the config, nothing about contents;
  // and the item names the screen reads out, from the one list the controller keeps.
  const layout = { cabinetId: cabinet.config.cabinetId, ...cabinetLayout(cabinet.config.compartments), itemNames: itemTypeNames };
  app.get('/kiosk/layout', async () => layout);

  app.get('/kiosk/events', (request, reply) => {
    const release = streams.acquire(request, reply);
    if (!release) return;
    const sse = openSse(request, reply);
    sse.onClose(release);
    sse.send('hello', { cabinetId: cabinet.config.cabinetId, helpWindow: cabinet.config.policy.helpWindow, idReader: IdCardService.stateOf(cabinet.idReader), resend: cabinet.services.lostCode.offered });
    const off = cabinet.bus.kiosk.add((message) => sse.send(message.type, message));
    sse.onClose(off);
  });
};
