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

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields the text line shows in its own place, or leaves out (the same on every line). */
const PLACED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'part', 'err']);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const valueText = (value: unknown): string =>
  typeof value === 'string' ? (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)) : JSON.stringify(value) ?? String(value);

/**
 * One pino JSON line as one readable line for a terminal: `14:03:07.412 WARN  [api] message key=value …`
 * (local time; objects as JSON; an error as its message and where it was thrown). Anything else passes as is.
 */
export function formatLogLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    entry = null;
  }
  if (!isRecord(entry)) return line.endsWith('\n') ? line : line + '\n';
  const t = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const parts = [time, level];
  if (entry.part !== undefined) parts.push(`[${String(entry.part)}]`);
  if (entry.msg !== undefined) parts.push(String(entry.msg).replace(/\s*\n\s*/g, ' '));
  for (const [key, value] of Object.entries(entry)) if (!PLACED.has(key)) parts.push(`${key}=${valueText(value)}`);
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object') {
    const at = /\n\s+at (.+)/.exec(err.stack ?? '')?.[1];
    parts.push(`err=${JSON.stringify(`${err.type ?? 'Error'}: ${err.message ?? ''}${at ? ` (at ${at})` : ''}`)}`);
  }
  return parts.join(' ') + '\n';
}

/** A pino destination that writes each line through `formatLogLine`. */
export function textDestination(out: { write(text: string): unknown } = process.stdout): pino.DestinationStream {
  return { write: (line: string) => void out.write(formatLogLine(line)) };
}

/**
 * Structured logs, one JSON line per event (what the journal gets); on a terminal, one readable text line per
 * event instead. Secrets never reach either: the Authorization header is redacted, URLs lose their token, and
 * services log only masked personal data (the text line is made from the redacted JSON).
 */
export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream; format?: 'json' | 'text' } = {}): Logger {
  const format = options.format ?? (options.destination === undefined && process.stdout.isTTY ? 'text' : 'json');
  const destination = format === 'text' ? textDestination(options.destination ?? process.stdout) : options.destination;
  return pino(
    {
      name: options.name ?? 'govlocker',
      level: options.level ?? process.env.GOVLOCKER_LOG_LEVEL ?? 'info',
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'password', '*.password'], censor: '***' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination,
  );
}
