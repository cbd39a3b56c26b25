import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine } from '../../controller/logging.ts';

// On a terminal the logs are one readable line per event; the journal keeps the JSON lines. Both come from the
// same redacted record.

function textLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'text', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

describe('the log line a terminal shows', () => {
  it('is local time, level, part, message and the other fields as key=value, on one line', () => {
    const time = new Date(2026, 10, 23, 14, 3, 7, 412).getTime();
    const line = formatLogLine(JSON.stringify({ level: 40, time, pid: 1, hostname: 'cabinet', name: 'govlocker', part: 'board', msg: 'board lost', board: 1, reason: 'no reply in 300 ms', state: { link: 'lost' } }));
    expect(line).toBe('14:03:07.412 WARN  [board] board lost board=1 reason="no reply in 300 ms" state={"link":"lost"}\n');
  });

  it('puts an error on the same line: its type, message and where it was thrown', () => {
    const line = formatLogLine(JSON.stringify({ level: 50, time: 0, msg: 'start failed', err: { type: 'Error', message: 'EADDRINUSE', stack: 'Error: EADDRINUSE\n    at listen (node:net:1)\n    at start (/opt/govlocker/dist/bin/run.js:80:3)' } }));
    expect(line).toMatch(/ ERROR start failed err="Error: EADDRINUSE \(at listen \(node:net:1\)\)"\n$/);
    expect(line.split('\n')).toHaveLength(2);
  });

  it('passes a line that is not a JSON record as it is', () => {
    expect(formatLogLine('not json')).toBe('not json\n');
    expect(formatLogLine('[1,2]\n')).toBe('[1,2]\n');
  });

  it('keeps secrets redacted: tokens, the Authorization header, secret query parameters', () => {
    const { logger, lines } = textLogger();
    logger.info({ token: 'tok-secret-1', req: { method: 'GET', url: '/api/v1/events?token=tok-secret-2&x=1', headers: { authorization: 'Bearer tok-secret-3' } } }, 'request');
    logger.child({ part: 'api' }).warn({ user: { token: 'tok-secret-4' } }, 'refused');
    const text = lines.join('');
    expect(text).not.toMatch(/tok-secret/);
    expect(text).toContain('token=***');
    expect(text).toContain('[api] refused user={"token":"***"}');
    expect(lines).toHaveLength(2);
  });

  it('is JSON when not on a terminal (the journal)', () => {
    const lines: string[] = [];
    createLogger({ destination: { write: (s: string) => void lines.push(s) } }).info({ part: 'api' }, 'listening');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, part: 'api', msg: 'listening', name: 'govlocker' });
  });
});
