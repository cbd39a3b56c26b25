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
import { idCardFaults, type IdCardDeviceEmulator } from './idcard-device.ts';
import { isWellFormedIdNumber } from '../firmware-bridge/idcard/index.ts';
import type { GenuineBoard } from './genuine-firmata/genuine-board.ts';
import { BUS_FAULTS, type LockboardBusEmulator } from './lockboard-device.ts';
import { cameraAuthModes, cameraFaults, type CameraDeviceEmulator } from './camera-device.ts';
import { readFileSync } from 'node:fs';

export interface SimulatorParts {
  readonly model: CabinetModel;
  readonly firmata: FirmataDeviceEmulator;
  readonly scanner: ScannerDeviceEmulator;
  /** The Uno running the genuine StandardFirmata, when it stands in for the Firmata emulator. */
  readonly genuine?: GenuineBoard;
  /** The RS-485 lock-board bus, when the simulator runs one: then the cable and host of `/sim/state` are its. */
  readonly lockboard?: LockboardBusEmulator;
  /** The resident ID-card reader, when the simulator runs one. */
  readonly idReader?: IdCardDeviceEmulator;
  /** The camera over the doors, when the simulator runs one. */
  readonly camera?: CameraDeviceEmulator;
}

const doorParam = z.object({ id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a door id is like "A01"') });

/** The person standing in front of the cabinet (CONTRACT §5), plus a live picture at `/`. */
export async function buildControlApi(parts: SimulatorParts): Promise<FastifyInstance> {
  const { model, firmata, scanner, lockboard, genuine } = parts;
  // The board the controller drives: the lock-board bus when there is one, else the genuine Uno or the Firmata board.
  const board = lockboard ?? genuine ?? firmata;
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
  const busState = (bus: LockboardBusEmulator) => ({ protocol: bus.protocol, refused: bus.counts.refused, boards: Object.fromEntries(bus.boards.map((b) => [String(b.board), { fault: b.fault }])) });
  const state = () => ({
    board: board.cableConnected ? 'connected' : 'disconnected', host: board.hostConnected ? 'connected' : 'waiting', firmataClients: firmata.clients, scannerReaders: scanner.readers,
    ...(lockboard ? { bus: busState(lockboard) } : {}),
    ...(parts.idReader ? { idReader: parts.idReader.state } : {}),
    ...(parts.camera ? { camera: parts.camera.state } : {}),
    doors: model.snapshot(),
  });
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

  // An item put in (or taken out of) a compartment, open or closed: a forgotten item, a foreign object. The
  // lock boards' infrared sensors (Kerong) report it.
  app.post('/sim/doors/:id/item', { schema: { params: doorParam, body: z.object({ present: z.boolean({ error: 'present is true (an item is inside) or false' }) }).strict() } }, async (request) => {
    known(request.params.id);
    model.setOccupied(request.params.id, request.body.present);
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
    board.disconnect(request.body?.mode ?? 'drop');
    cableChanges.emit();
    return { board: 'disconnected' };
  });
  app.post('/sim/board/connect', async () => {
    board.connect();
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

  // The lock-board bus: every frame heard (`?since=SEQ` keeps the later ones), refused frames, board faults.
  const noBus = () => Object.assign(new SimError('this simulator runs no lock-board bus (start it with lockboard)'), { statusCode: 404 });
  app.get('/sim/bus', { schema: { querystring: z.object({ since: z.coerce.number().int().min(0).optional() }).strict() } }, async (request) => {
    if (!lockboard) throw noBus();
    return lockboard.report(request.query.since ?? 0);
  });
  const strayBytes = z.string().regex(/^\s*[0-9a-fA-F]{2}(\s*[0-9a-fA-F]{2}){0,15}\s*$/, 'strayBytes is hex bytes, e.g. "FA FD 99 99"')
    .transform((text) => [...Buffer.from(text.replace(/\s+/g, ''), 'hex')]);
  const busFaultBody = z.object({
    board: z.number().int().min(0).max(255),
    fault: z.enum(BUS_FAULTS, { error: `fault is ${BUS_FAULTS.map((f) => `"${f}"`).join(', ')} or null` }).nullable(),
    strayBytes: strayBytes.optional(),
  }).strict();
  app.post('/sim/bus/faults', { schema: { body: busFaultBody } }, async (request) => {
    if (!lockboard) throw noBus();
    return lockboard.setFault(request.body.board, request.body.fault, request.body.strayBytes);
  });

  // The ID-card reader: a card put on it and taken away, a worn reader or a damaged card, its cable.
  const idReader = () => {
    if (!parts.idReader) throw Object.assign(new SimError('this simulator runs no ID-card reader (start it with idReader)'), { statusCode: 404 });
    return parts.idReader;
  };
  const cardBody = z.object({
    idNumber: z.string().refine(isWellFormedIdNumber, 'idNumber is 17 digits and the GB 11643 check character, e.g. "440106199001011235"'),
    name: z.string().trim().min(1, 'name is the card holder\'s name').max(15, 'name is at most 15 characters (the card\'s field)').default('张三'),
  }).strict();
  app.post('/sim/idcard', { schema: { body: cardBody } }, async (request) => {
    idReader().putCard(request.body);
    return idReader().state;
  });
  app.delete('/sim/idcard', async () => {
    idReader().takeCard();
    return idReader().state;
  });
  const idCardFaultBody = z.object({ fault: z.enum(idCardFaults, { error: `fault is ${idCardFaults.map((f) => `"${f}"`).join(', ')} or null` }).nullable() }).strict();
  app.post('/sim/idcard/fault', { schema: { body: idCardFaultBody } }, async (request) => {
    idReader().setFault(request.body.fault);
    return idReader().state;
  });
  app.post('/sim/idcard/disconnect', { schema: { body: disconnectBody } }, async (request) => {
    idReader().disconnect(request.body?.mode ?? 'drop');
    return idReader().state;
  });
  app.post('/sim/idcard/connect', async () => {
    idReader().connect();
    return idReader().state;
  });

  // The camera over the doors: its cable pulled (`down`) or hung (`hang`), and its login changed (the
  // controller's then no longer matches). The password is taken, never shown.
  const cameraBody = z.object({
    fault: z.enum(cameraFaults, { error: `fault is ${cameraFaults.map((f) => `"${f}"`).join(', ')} or null` }).nullable().optional(),
    auth: z.enum(cameraAuthModes, { error: `auth is ${cameraAuthModes.map((m) => `"${m}"`).join(', ')}` }).optional(),
    username: z.string().min(1, 'username is the camera\'s login name').max(64).regex(/^[^:\u0000-\u001f]+$/, 'username may not contain ":" or control characters').optional(),
    password: z.string().min(1, 'password is the camera\'s new password').max(128).optional(),
  }).strict();
  const camera = () => {
    if (!parts.camera) throw Object.assign(new SimError('this simulator runs no camera (start it with camera)'), { statusCode: 404 });
    return parts.camera;
  };
  app.get('/sim/camera', async () => camera().state);
  app.post('/sim/camera', { schema: { body: cameraBody } }, async (request) => {
    const { fault, ...login } = request.body;
    if (fault !== undefined) camera().setFault(fault);
    if (Object.keys(login).length > 0) camera().setLogin(login);
    return camera().state;
  });

  app.get('/sim/stream', (request, reply) => {
    const sse = openSse(request, reply);
    // Where each door sits (column letter, row number) and its wiring, once: the page draws the cabinet from it.
    const onBus = new Map(lockboard?.boards.flatMap((b) => Object.entries(b.doors).map(([channel, id]) => [id, { board: b.board, channel: Number(channel) }])));
    sse.send('layout', { doors: model.doors.map((d) => ({ id: d.id, lockChannel: d.lockChannel, doorSensor: d.doorSensor, ...onBus.get(d.id) })) });
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
    const offBus = lockboard?.onChange(() => sse.send('state', state()));
    const offIdReader = parts.idReader?.onChange(() => sse.send('state', state()));
    const offCamera = parts.camera?.onChange(() => sse.send('state', state()));
    sse.onClose(() => { off(); offHost(); offCable(); offReaders(); offBus?.(); offIdReader?.(); offCamera?.(); });
  });

  const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  app.get('/', async (_request, reply) => reply.headers(pageHeaders).send(page));
  serveFavicon(app);
  return app;
}
