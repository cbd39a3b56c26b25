import pino, { type Logger } from 'pino';

/** Strips credentials from a URL before it is logged (SSE pages pass ?token=). */
export const redactUrl = (url: string): string => url.replace(/([?&]token=)[^&]*/g, '$1***');

/**
 * Structured logs, one JSON line per event. Secrets never reach them: the Authorization header is redacted,
 * URLs lose their token, and services log only masked personal data.
 */
export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'govlocker',
      level: options.level ?? process.env.GOVLOCKER_LOG_LEVEL ?? 'info',
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token'], censor: '***' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    options.destination,
  );
}
