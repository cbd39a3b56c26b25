import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageHeaders } from '../../http-common/page-headers.ts';
import { openSse } from '../../http-common/sse.ts';
import { StreamSlots } from '../stream-slots.ts';
import type { AlarmAcks } from './alarm-acks.ts';
import type { FleetChanges } from './fleet-changes.ts';
import type { FleetState } from './fleet-state.ts';
import type { ReplayRequests } from './replay-requests.ts';

const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

/** A stream client this far behind (bytes not yet taken by the socket) skips frames and gets a fresh snapshot later. */
const STREAM_BACKLOG_LIMIT = 4 * 1024 * 1024;

const cabinetId = z.string().min(1).max(32);

/** The fleet monitor's HTTP side: the page, the fleet as JSON, the live stream, alarm acks and replay requests. */
export const fleetRoutes: FastifyPluginAsyncZod<{ state: FleetState; changes: FleetChanges; replays: ReplayRequests; acks: AlarmAcks }> = async (app, { state, changes, replays, acks }) => {
  const snapshot = () => ({ summary: state.summary(), canReplay: replays.canSign, cabinets: state.list() });

  app.get('/', async (_request, reply) => reply.headers(pageHeaders).send(page));

  app.get('/api/cabinets', async () => snapshot());

  app.get('/api/cabinets/:id', { schema: { params: z.object({ id: cabinetId }) } }, async (request, reply) => {
    const view = state.get(request.params.id);
    return view ?? reply.code(404).send({ error: `no cabinet ${request.params.id} on the broker`, issues: [] });
  });

  // `snapshot` first, then `changes` frames (at most ~10 a second) with the cabinets that changed.
  // Each stream holds a socket and a snapshot's worth of memory: a few per ops workstation, 200 in all.
  const streams = new StreamSlots();
  app.get('/api/stream', (request, reply) => {
    const release = streams.acquire(request, reply);
    if (!release) return;
    const sse = openSse(request, reply);
    sse.onClose(release);
    sse.send('snapshot', snapshot());
    let behind = false;
    const off = changes.subscribe((frame) => {
      if (reply.raw.writableLength > STREAM_BACKLOG_LIMIT) {
        behind = true;
        return;
      }
      if (behind) {
        behind = false;
        sse.send('snapshot', snapshot());
      } else {
        sse.send('changes', frame);
      }
    });
    sse.onClose(off);
  });

  app.post('/api/alarms/:cabinetId/:seq/ack', {
    schema: {
      params: z.object({ cabinetId, seq: z.coerce.number().int().min(0, 'seq is the alarm event\'s seq') }),
      body: z.object({ note: z.string().trim().max(200, 'note is at most 200 characters').optional() }).strict().nullish(),
    },
  }, async (request, reply) => {
    const { cabinetId: id, seq } = request.params;
    const alarm = state.get(id)?.alarms.find((a) => a.seq === seq);
    if (!alarm || !state.ackAlarm(id, seq)) return reply.code(404).send({ error: `cabinet ${id} has no unacknowledged alarm with seq ${seq}`, issues: [] });
    request.log.info({ cabinetId: id, seq }, 'alarm acknowledged');
    // The cabinet keeps its own alarm until someone acknowledges it there: tell it, when we can sign.
    const atCabinet = await acks.forward(id, alarm.data.alarmId, request.body?.note);
    return { ok: true, atCabinet, cabinet: state.get(id) };
  });

  app.post('/api/cabinets/:id/replay', {
    schema: {
      params: z.object({ id: cabinetId }),
      body: z.object({ fromSeq: z.number({ error: 'fromSeq is the first seq to send again, a whole number from 1' }).int().min(1, 'fromSeq is 1 or more') }),
    },
  }, async (request, reply) => {
    const outcome = await replays.request(request.params.id, request.body.fromSeq);
    if (!outcome.ok) return reply.code(outcome.status).send({ error: outcome.error, issues: [] });
    return reply.code(202).send(outcome);
  });
};
