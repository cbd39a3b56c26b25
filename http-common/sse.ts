import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown, id?: number): void;
  onClose(fn: () => void): void;
}

/** Server-Sent Events on a hijacked reply, with a comment heartbeat so proxies keep the stream open. */
export function openSse(request: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  raw.write('retry: 2000\n\n');
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  heartbeat.unref();
  const closers: (() => void)[] = [() => clearInterval(heartbeat)];
  request.raw.on('close', () => {
    for (const fn of closers.splice(0)) fn();
  });
  return {
    send(event, data, id) {
      if (raw.writableEnded || raw.destroyed) return;
      raw.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
}
