import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { buildKioskApi } from '../admin-api/kiosk-server.ts';
import { describeCertificate, watchCertificate, type CertificateWatch } from '../admin-api/https/certificate-reload.ts';
import { redirectServer } from '../admin-api/https/redirect-server.ts';
import { buildApi } from '../admin-api/server.ts';
import { StreamSlots } from '../admin-api/stream-slots.ts';
import type { Cabinet } from '../controller/cabinet.ts';
import { ConfigError } from '../controller/config/load.ts';
import type { CabinetConfig } from '../controller/config/schema.ts';
import { checkServingCertificate, type ServingCertificate } from '../controller/config/serving-certificate.ts';

// Every port `govlocker controller` listens on. Without `api.tls`: `api.port`, plain HTTP, as always. With it:
// `api.port` in HTTPS; the kiosk page and endpoints again in plain HTTP on loopback (`api.tls.kioskPort`); and,
// when asked for, a port that only redirects to https (`api.tls.redirectPort`).

/** The loopback address the plain kiosk listener binds to: only the cabinet's own screen reaches it. */
export const KIOSK_LISTENER_HOST = '127.0.0.1';

export interface ApiListeners {
  readonly api: FastifyInstance;
  readonly scheme: 'http' | 'https';
  readonly apiPort: number;
  /** The plain-HTTP kiosk listener's port (loopback), when there is one. */
  readonly kioskPort: number | null;
  /** The plain-HTTP port that redirects to https, when there is one. */
  readonly redirectPort: number | null;
  /** What is served on `api.port` (https), when it is. */
  readonly certificate: () => ServingCertificate | null;
  close(): Promise<void>;
}

export interface CertificateWatchTiming {
  /** How often the certificate files are looked at (ms). */
  readonly intervalMs?: number;
  /** How long they must stay unchanged before the new pair is checked (ms). */
  readonly settleMs?: number;
}

/**
 * `api.tls`'s certificate, checked before anything opens: a problem refuses the start (ConfigError, naming the
 * field); a certificate close to its end is logged as a warning.
 */
export function servingCertificate(config: CabinetConfig, logger: Logger, now = new Date()): ServingCertificate | null {
  const tls = config.api.tls;
  if (!tls) return null;
  const result = checkServingCertificate(tls, now);
  if (!result.ok) throw new ConfigError(result.problems, 'the HTTPS certificate (api.tls)');
  for (const warning of result.warnings) logger.warn(warning);
  return result.certificate;
}

const portOf = (server: { address(): unknown }, fallback: number): number => {
  const address = server.address();
  return typeof address === 'object' && address !== null && 'port' in address ? Number(address.port) : fallback;
};

/** A port of ours already taken is the config's problem, said by its field; anything else is thrown as it is. */
function portProblem(error: unknown, field: string, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new ConfigError([{ path: field, message: `${host}:${port} is in use by another program: choose a free port (null: none)` }], 'the API listeners');
  if (code === 'EACCES') return new ConfigError([{ path: field, message: `${host}:${port} is a privileged port this user may not open: choose one above 1023, or give the service CAP_NET_BIND_SERVICE` }], 'the API listeners');
  return error;
}

async function listenPlain(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function closePlain(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Opens every listener of the API for `cabinet` (already started); on a failure closes what it opened. */
export async function openApiListeners(cabinet: Cabinet, certificate: ServingCertificate | null, logger: Logger, timing: CertificateWatchTiming = {}): Promise<ApiListeners> {
  const { api: config } = cabinet.config;
  const tls = certificate ? config.tls : undefined;
  const streams = new StreamSlots();
  const api = await buildApi(cabinet, logger, { https: certificate ?? undefined, streams });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of closers.splice(0).reverse()) await fn();
  };
  closers.push(() => api.close());
  let served = certificate;
  try {
    await api.listen({ host: config.host, port: config.port });
    const apiPort = portOf(api.server, config.port);
    let kioskPort: number | null = null;
    let redirectPort: number | null = null;
    if (tls && certificate) {
      logger.info({ port: apiPort, ...describeCertificate(certificate) }, 'serving HTTPS');
      if (tls.kioskPort !== null) {
        const kiosk = await buildKioskApi(cabinet, logger.child({ listener: 'kiosk' }), streams);
        try {
          await kiosk.listen({ host: KIOSK_LISTENER_HOST, port: tls.kioskPort });
        } catch (error) {
          await kiosk.close();
          throw portProblem(error, 'api.tls.kioskPort', KIOSK_LISTENER_HOST, tls.kioskPort);
        }
        closers.push(() => kiosk.close());
        kioskPort = portOf(kiosk.server, tls.kioskPort);
      }
      if (tls.redirectPort !== null) {
        const redirect = redirectServer(() => apiPort);
        try {
          await listenPlain(redirect, config.host, tls.redirectPort);
        } catch (error) {
          throw portProblem(error, 'api.tls.redirectPort', config.host, tls.redirectPort);
        }
        closers.push(() => closePlain(redirect));
        redirectPort = portOf(redirect, tls.redirectPort);
      }
      const secure = api.server as unknown as TlsServer;
      const watch: CertificateWatch = watchCertificate({
        files: tls, current: certificate, log: logger, ...timing,
        apply(next) {
          secure.setSecureContext({ cert: next.cert, key: next.key });
          served = next;
        },
      });
      closers.push(async () => watch.stop());
    }
    return { api, apiPort, kioskPort, redirectPort, scheme: tls ? 'https' : 'http', certificate: () => served, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The address a browser on this PC uses for `host` (a wildcard: loopback). */
function localAddress(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The banner's view of the listeners: the API's base URL, the kiosk page's, and what HTTPS serves. */
export function listenerBanner(config: CabinetConfig, listeners: ApiListeners): { api: string; kiosk: string; https: [string, string][] } {
  const api = `${listeners.scheme}://${localAddress(config.api.host)}:${listeners.apiPort}`;
  const kiosk = listeners.kioskPort === null ? `${api}/kiosk` : `http://${KIOSK_LISTENER_HOST}:${listeners.kioskPort}/kiosk`;
  const certificate = listeners.certificate();
  if (!certificate) return { api, kiosk, https: [] };
  return {
    api, kiosk,
    https: [
      ['HTTPS certificate', `SHA-256 ${certificate.fingerprint256}, valid until ${certificate.validTo.toISOString().slice(0, 10)}, for ${certificate.names}`],
      ...(listeners.kioskPort === null ? [] : [['kiosk listener', `${KIOSK_LISTENER_HOST}:${listeners.kioskPort} (plain HTTP, loopback: the kiosk page and endpoints only)`] as [string, string]]),
      ...(listeners.redirectPort === null ? [] : [['HTTP redirect', `${localAddress(config.api.host)}:${listeners.redirectPort} → ${api}`] as [string, string]]),
    ],
  };
}
