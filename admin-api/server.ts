import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Cabinet } from '../controller/cabinet.ts';
import { StaffAuth } from './auth.ts';
import { apiInstance, type HttpsFiles } from './base-app.ts';
import { RouteCatalog } from './openapi/route-catalog.ts';
import { cabinetRoutes } from './routes/cabinet.ts';
import { docsRoutes } from './routes/docs.ts';
import { kioskRoutes } from './routes/kiosk.ts';
import { metricsRoute } from './routes/metrics.ts';
import { observeRoutes } from './routes/observe.ts';
import { pageRoutes } from './routes/pages.ts';
import { sessionRoutes } from './routes/session.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { StreamSlots } from './stream-slots.ts';

export interface ApiOptions {
  /** Serve HTTPS with this certificate (`api.tls`); absent: plain HTTP. */
  readonly https?: HttpsFiles;
  /** The event-stream slots, shared with the kiosk listener so the limits hold across both. */
  readonly streams?: StreamSlots;
}

/** The admin API, the kiosk API and the pages, on one fastify instance. */
export async function buildApi(cabinet: Cabinet, logger: Logger, options: ApiOptions = {}): Promise<FastifyInstance> {
  const app = apiInstance(logger, options.https);
  app.decorateRequest('user', null);
  const auth = new StaffAuth(cabinet.context.repos.users, cabinet.services.staff);
  const streams = options.streams ?? new StreamSlots();
  // Before any /api/v1 route: every one of them is collected for the API description (GET /docs/json).
  const catalog = RouteCatalog.collect(app, '/api/v1');
  await app.register(observeRoutes, { prefix: '/api/v1', cabinet, auth, streams });
  await app.register(cabinetRoutes, { prefix: '/api/v1', cabinet, auth });
  await app.register(sessionRoutes, { prefix: '/api/v1', cabinet, auth });
  await app.register(snapshotRoutes, { prefix: '/api/v1', cabinet, auth });
  await app.register(kioskRoutes, { prefix: '/api/v1', cabinet, streams });
  await app.register(metricsRoute, { cabinet });
  await app.register(pageRoutes, { cabinet });
  await app.register(docsRoutes, { catalog });
  return app;
}
