import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorShapeHandler } from '../http-common/error-shape.ts';
import { pageHeaders } from '../http-common/page-headers.ts';
import { acceptEmptyJson } from '../http-common/json-body.ts';
import { serveFavicon } from '../http-common/favicon.ts';
import { openSse } from '../http-common/sse.ts';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import { SimError, type CabinetModel } from './cabinet-model.ts';
import type { FirmataDeviceEmulator } from './firmata-device.ts';
import type { ScannerDeviceEmulator } from './scanner-device.ts';
import { readFileSync } from 'node:fs';

export interface SimulatorParts {
  readonly model: CabinetModel;
  readonly firmata: FirmataDeviceEmulator;
  readonly scanner: ScannerDeviceEmulator;
}

const doorParam = z.object({ id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a door id is like "A01"') });

/** The person standing in front of the cabinet (CONTRACT §5), plus a live picture at `/`. */
export async function buildControlApi(parts: SimulatorParts): Promise<FastifyInstance> {
  const { model, firmata, scanner } = parts;
  const app = Fastify({ logger: false, forceCloseConnections: true }).withTypeProvider<ZodTypeProvider>();
  acceptEmptyJson(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // A SimError is a conflict (a closed door closed again) unless it says otherwise (an unknown door: 404).
  app.setErrorHandler(errorShapeHandler((error: FastifyError, reply) => {
    if (!(error instanceof SimError)) return false;
    void reply.code(error.statusCode ?? 409).send({ error: error.message, issues: [] });
    return true;
  }));
  const known = (id: string) => {
    if (!(id in model.snapshot())) throw Object.assign(new SimError(`no door ${id}: doors are ${Object.keys(model.snapshot()).join(', ')}`), { statusCode: 404 });
  };
  const state = () => ({ board: firmata.cableConnected ? 'connected' : 'disconnected', host: firmata.hostConnected ? 'connected' : 'waiting', firmataClients: firmata.clients, scannerReaders: scanner.readers, doors: model.snapshot() });
  // The cable is the person's doing, not the model's: restoring it changes no door, so the streams are told here.
  const cableChanges = new ListenerSet<void>();

  app.get('/sim/state', async () => state());

  app.post('/sim/scan', { schema: { body: z.object({ text: z.string().min(1, 'text is what the scanner reads').max(4096) }).strict() } }, async (request) => {
    scanner.scan(request.body.text);
    return { ok: true, readers: scanner.readers };
  });

  app.post('/sim/doors/:id/close', { schema: { params: doorParam, body: z.object({ occupied: z.boolean().optional() }).strict().nullish() } }, async (request) => {
    known(request.params.id);
    model.close(request.params.id, { occupied: request.body?.occupied });
    return model.snapshot()[request.params.id];
  });

  app.post('/sim/doors/:id/force', { schema: { params: doorParam } }, async (request) => {
    known(request.params.id);
    model.force(request.params.id);
    return model.snapshot()[request.params.id];
  });

  app.post('/sim/faults', { schema: { body: z.object({ door: doorParam.shape.id, fault: z.enum(['jam', 'sensor-stuck'], { error: 'fault is "jam", "sensor-stuck" or null' }).nullable() }).strict() } }, async (request) => {
    known(request.body.door);
    model.setFault(request.body.door, request.body.fault);
    return model.snapshot()[request.body.door];
  });

  // `drop` (default): a pulled USB cable or a TCP reset. `silent`: the link stays up but the board answers nothing.
  const disconnectBody = z.object({ mode: z.enum(['drop', 'silent'], { error: 'mode is "drop" (cable pulled) or "silent" (board hangs)' }).optional() }).strict().nullish();
  app.post('/sim/board/disconnect', { schema: { body: disconnectBody } }, async (request) => {
    firmata.disconnect(request.body?.mode ?? 'drop');
    cableChanges.emit();
    return { board: 'disconnected' };
  });
  app.post('/sim/board/connect', async () => {
    firmata.connect();
    cableChanges.emit();
    return { board: 'connected' };
  });

  // A second client on the Firmata port: `refuse` (the default: one TCP slot, the newcomer is closed at once) or
  // `replace` (as StandardFirmataWiFi: the connected host is closed with FIN and the newcomer served).
  const clientsBody = z.object({ mode: z.enum(['refuse', 'replace'], { error: 'mode is "refuse" (one client at a time) or "replace" (a new client takes over, as StandardFirmataWiFi)' }) }).strict();
  app.post('/sim/board/clients', { schema: { body: clientsBody } }, async (request) => {
    firmata.clients = request.body.mode;
    cableChanges.emit();
    return { firmataClients: firmata.clients };
  });

  app.get('/sim/stream', (request, reply) => {
    const sse = openSse(request, reply);
    // Where each door sits (column letter, row number) and its wiring, once: the page draws the cabinet from it.
    sse.send('layout', { doors: model.doors.map((d) => ({ id: d.id, lockChannel: d.lockChannel, doorSensor: d.doorSensor })) });
    sse.send('state', state());
    let pending = false;
    // Coalesce bursts (a pulse flips relay and door within microseconds) into one frame.
    const off = model.onChange(() => {
      if (pending) return;
      pending = true;
      setTimeout(() => { pending = false; sse.send('state', state()); }, 20);
    });
    const offHost = firmata.onHost(() => sse.send('state', state()));
    const offCable = cableChanges.add(() => sse.send('state', state()));
    const offReaders = scanner.onReaders(() => sse.send('state', state()));
    sse.onClose(() => { off(); offHost(); offCable(); offReaders(); });
  });

  const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  app.get('/', async (_request, reply) => reply.headers(pageHeaders).send(page));
  serveFavicon(app);
  return app;
}
