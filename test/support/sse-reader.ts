/** One Server-Sent Events frame as a browser's EventSource would deliver it. */
export interface SseFrame {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

/** A live SSE stream over real HTTP (fetch), read the way EventSource reads it. */
export interface SseReader {
  readonly status: number;
  readonly headers: Headers;
  /** Every frame with data received so far, in order (comment and `retry:`-only frames are skipped). */
  readonly frames: SseFrame[];
  /** Everything received so far, byte for byte, for "this never appears on the wire" checks. */
  readonly raw: () => string;
  /** Resolves with the first frame (at or after `from`) that matches; rejects after `ms`. */
  next(match: (frame: SseFrame) => boolean, ms?: number, what?: string, from?: number): Promise<SseFrame>;
  close(): void;
}

/**
 * Opens `url` as an SSE stream. A non-2xx answer resolves too (status set, no frames), so a test can
 * check a 401 the same way.
 */
export async function openSseStream(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  let text = '';
  let pending = '';
  let ended = false;

  const parse = (block: string) => {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) frames.push({ id, event, data: data.join('\n') });
  };

  if (response.ok && response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const chunk = decoder.decode(value, { stream: true });
          text += chunk;
          pending += chunk.replace(/\r\n?/g, '\n');
          let cut: number;
          while ((cut = pending.indexOf('\n\n')) >= 0) {
            parse(pending.slice(0, cut));
            pending = pending.slice(cut + 2);
          }
          for (const wake of [...waiters]) wake();
        }
      } catch {
        // aborted by close(), or the server went away
      } finally {
        ended = true;
        for (const wake of [...waiters]) wake();
      }
    })();
  } else {
    text = await response.text();
    ended = true;
  }

  return {
    status: response.status,
    headers: response.headers,
    frames,
    raw: () => text,
    next(match, ms = 3000, what = 'an SSE frame', from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(from).find(match);
          if (found) {
            done();
            resolve(found);
          } else if (ended) {
            done();
            reject(new Error(`the stream ended before ${what} (got: ${frames.map((f) => f.event).join(', ')})`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${what} (got: ${frames.map((f) => f.event).join(', ')})`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      abort.abort();
    },
  };
}
