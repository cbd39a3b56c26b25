import Fastify, { LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { redactUrl } from '../controller/logging.ts';
import { acceptEmptyJson } from '../http-common/json-body.ts';
import { errorHandler } from './errors.ts';

/** The certificate and key an HTTPS listener serves (PEM). */
export interface HttpsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export type ApiInstance = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** Browsers keep to https for this long (s) once they have seen it over a trusted connection: 180 days. */
export const HSTS_MAX_AGE_S = 15_552_000;

/**
 * A fastify instance as every listener of the cabinet's API is: zod schemas, the error shape, one log line per
 * change or refusal, a JSON 404. With `https`, it speaks TLS 1.2 or later and every answer carries
 * Strict-Transport-Security.
 */
export function apiInstance(logger: Logger, https?: HttpsFiles): ApiInstance {
  const options = {
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // The kiosk's SSE stream and clerk pages keep connections: do not let them hold a shutdown.
    forceCloseConnections: true,
    // One line per change or refusal is logged below; routine reads (polling, SSE) stay at debug.
    logController: new LogController({ disableRequestLogging: true }),
    ...(https ? { https: { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' } } : {}),
  } as FastifyHttpOptions<Server>;
  const app = Fastify(options).withTypeProvider<ZodTypeProvider>();
  if (https) {
    // On the raw response, so the hijacked event streams carry it too.
    app.addHook('onRequest', async (_request, reply) => {
      reply.raw.setHeader('strict-transport-security', `max-age=${HSTS_MAX_AGE_S}`);
    });
  }
  acceptEmptyJson(app);
  app.addHook('onResponse', async (request, reply) => {
    const quiet = request.method === 'GET' && reply.statusCode < 400;
    request.log[quiet ? 'debug' : 'info']({ method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no such endpoint: ${request.method} ${redactUrl(request.url)}`, issues: [] }));
  return app;
}
