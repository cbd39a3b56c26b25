import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { createLogger } from '../../controller/logging.ts';
import { errorHandler } from '../errors.ts';
import { acceptEmptyJson } from '../../http-common/json-body.ts';
import { AlarmAcks } from './alarm-acks.ts';
import { CommandKeyDirectory } from './command-keys.ts';
import { FleetChanges } from './fleet-changes.ts';
import { FleetState } from './fleet-state.ts';
import { FleetSubscriber } from './fleet-subscriber.ts';
import { ReplayRequests } from './replay-requests.ts';
import { fleetRoutes } from './routes.ts';

export const DEFAULT_FLEET_PORT = 8095;

export interface FleetMonitorOptions {
  readonly mqttUrl: string;
  /** 8095 by default; 0 picks a free port. */
  readonly port?: number;
  /** 127.0.0.1 by default: the page has no login, so open it wider only behind ops' own access control. */
  readonly host?: string;
  /** A directory of `<cabinetId>.key` files; without it replays are refused (409). */
  readonly keysDir?: string;
  readonly logger?: Logger;
  /** Least time between two live-stream frames (100 ms: ~10 frames/s). */
  readonly frameIntervalMs?: number;
  readonly maxCabinets?: number;
}

export interface RunningFleetMonitor {
  readonly url: string;
  readonly port: number;
  readonly state: FleetState;
  /** Resolves once the monitor is subscribed to every cabinet; rejects when the broker stays away. */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Central ops' fleet monitor (`govlocker fleet`): a client of the broker like any other, with its own small
 * HTTP server. Builds the state, the broker subscriber, the frame coalescer and the routes; starts them in
 * order and stops them in reverse. Starts even while the broker is away (the page says so).
 */
export async function startFleetMonitor(options: FleetMonitorOptions): Promise<RunningFleetMonitor> {
  const logger = options.logger ?? createLogger({ name: 'govlocker-fleet' });
  const keys = options.keysDir ? new CommandKeyDirectory(options.keysDir) : null;
  const state = new FleetState({ maxCabinets: options.maxCabinets });
  const changes = new FleetChanges(state, { intervalMs: options.frameIntervalMs });
  const subscriber = new FleetSubscriber({ mqttUrl: options.mqttUrl, state, logger: logger.child({ part: 'fleet-mqtt' }) });
  const replays = new ReplayRequests({ keys, state, publish: (topic, payload) => subscriber.publish(topic, payload), logger });

  const acks = new AlarmAcks({ keys, publish: (topic, payload) => subscriber.publish(topic, payload), logger });
  const app = await buildFleetApp(logger, (app) => app.register(fleetRoutes, { state, changes, replays, acks }));
  changes.start();
  subscriber.start();
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_FLEET_PORT });
  } catch (error) {
    await subscriber.stop();
    changes.stop();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? DEFAULT_FLEET_PORT);
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    state,
    ready: (timeoutMs) => subscriber.ready(timeoutMs),
    async stop() {
      await app.close();
      changes.stop();
      await subscriber.stop();
    },
  };
}

async function buildFleetApp(logger: Logger, register: (app: FastifyInstance) => unknown): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ part: 'fleet-http' }) as FastifyBaseLogger,
    bodyLimit: 16 * 1024,
    forceCloseConnections: true, // live streams must not hold a shutdown
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  acceptEmptyJson(app);
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  // The page has no login: a POST must come from the page itself, not from another site open in ops' browser.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request.headers.origin, request.headers.host)) {
      return reply.code(403).send({ error: 'cross-site request refused: use the fleet monitor page itself', issues: [] });
    }
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no such endpoint: ${request.method} ${request.url}`, issues: [] }));
  await register(app);
  return app;
}

/** No Origin header (curl, scripts) or the monitor's own: fine. Anything else is another site. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
