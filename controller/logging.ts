import pino, { type Logger } from 'pino';

/** Query parameters whose values are secrets, by their decoded name: `token`, `%74oken`, `token[]`, `access_token`, … */
const SECRET_PARAM = /token|password|passwd|secret|sig/i;

/** Percent-decodes a query key the way a lenient parser would, repeatedly, never throwing on bad escapes. */
function decodedKey(raw: string): string {
  let key = raw.replace(/\+/g, ' ');
  for (let i = 0; i < 3; i++) {
    const next = key.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === key) break;
    key = next;
  }
  return key;
}

/**
 * Strips credentials from a URL before it is logged or echoed: every query parameter whose name, decoded,
 * names a secret loses its value, whatever its spelling (encoded, array form, repeated).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1).split('&').map((part) => {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    return SECRET_PARAM.test(decodedKey(key)) ? `${key}=***` : part;
  });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

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
