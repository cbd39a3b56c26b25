import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Cabinet } from '../controller/cabinet.ts';
import { redactUrl } from '../controller/logging.ts';
import { StaffAuth } from './auth.ts';
import { errorHandler } from './errors.ts';
import { acceptEmptyJson } from '../http-common/json-body.ts';
import { RouteCatalog } from './openapi/route-catalog.ts';
import { cabinetRoutes } from './routes/cabinet.ts';
import { docsRoutes } from './routes/docs.ts';
import { kioskRoutes } from './routes/kiosk.ts';
import { metricsRoute } from './routes/metrics.ts';
import { observeRoutes } from './routes/observe.ts';
import { pageRoutes } from './routes/pages.ts';
import { StreamSlots } from './stream-slots.ts';


/** The admin API, the kiosk API and the pages, on one fastify instance. */
export async function buildApi(cabinet: Cabinet, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // The kiosk's SSE stream and clerk pages keep connections: do not let them hold a shutdown.
    forceCloseConnections: true,
    // One line per change or refusal is logged below; routine reads (polling, SSE) stay at debug.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  acceptEmptyJson(app);
  app.addHook('onResponse', async (request, reply) => {
    const quiet = request.method === 'GET' && reply.statusCode < 400;
    request.log[quiet ? 'debug' : 'info']({ method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.decorateRequest('user', null);
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no such endpoint: ${request.method} ${redactUrl(request.url)}`, issues: [] }));
  const auth = new StaffAuth(cabinet.context.repos.users);
  const streams = new StreamSlots();
  // Before any /api/v1 route: every one of them is collected for the API description (GET /docs/json).
  const catalog = RouteCatalog.collect(app, '/api/v1');
  await app.register(observeRoutes, { prefix: '/api/v1', cabinet, auth, streams });
  await app.register(cabinetRoutes, { prefix: '/api/v1', cabinet, auth });
  await app.register(kioskRoutes, { prefix: '/api/v1', cabinet, streams });
  await app.register(metricsRoute, { cabinet });
  await app.register(pageRoutes, { cabinet });
  await app.register(docsRoutes, { catalog });
  return app;
}
