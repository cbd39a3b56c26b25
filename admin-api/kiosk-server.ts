import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Cabinet } from '../controller/cabinet.ts';
import { apiInstance } from './base-app.ts';
import { kioskRoutes } from './routes/kiosk.ts';
import { kioskPageRoutes } from './routes/pages.ts';
import type { StreamSlots } from './stream-slots.ts';

/**
 * What the cabinet's own screen needs and nothing else: the kiosk page and the kiosk endpoints, the same
 * plugins the admin API registers (so `api.kioskClients` guards them here too). With `api.tls` it listens in
 * plain HTTP on loopback, so the screen's browser needs no certificate; every other path is a 404.
 */
export async function buildKioskApi(cabinet: Cabinet, logger: Logger, streams: StreamSlots): Promise<FastifyInstance> {
  const app = apiInstance(logger);
  await app.register(kioskRoutes, { prefix: '/api/v1', cabinet, streams });
  await app.register(kioskPageRoutes);
  return app;
}
