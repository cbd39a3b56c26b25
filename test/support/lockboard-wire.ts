import net from 'node:net';
import type { Duplex } from 'node:stream';
import { FrameReader, type FrameMatcher, type SkipCounts } from '../../firmware-bridge/lockboard/index.ts';

// The host's end of an emulated lock-board bus, raw: bytes out, bytes in, and a frame read with the codec's
// own reader. Tests drive the emulator with it over TCP or a pseudo-terminal.

export const hexBytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

export class BusWire {
  readonly stream: Duplex;
  #received: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
    });
    stream.on('close', () => {
      this.#closed = true;
    });
    stream.on('error', () => {});
  }

  static async tcp(port: number): Promise<BusWire> {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.setNoDelay(true);
    return new BusWire(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet taken. */
  get pending(): Buffer {
    return this.#received;
  }

  send(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  /** Waits for `count` bytes and takes them. */
  async take(count: number, timeoutMs = 1000): Promise<Buffer> {
    await until(() => this.#received.length >= count, timeoutMs, `${count} bytes (have ${this.#received.length})`);
    const out = this.#received.subarray(0, count);
    this.#received = this.#received.subarray(count);
    return Buffer.from(out);
  }

  /** Sends `request` and answers with exactly the `replyLength` bytes that come back (and nothing more within a moment). */
  async exchange(request: Uint8Array, replyLength: number, timeoutMs = 1000): Promise<Buffer> {
    this.#received = Buffer.alloc(0);
    this.send(request);
    const reply = await this.take(replyLength, timeoutMs);
    await sleep(15);
    if (this.#received.length > 0) throw new Error(`more bytes than the ${replyLength} expected: ${this.#received.toString('hex')}`);
    return reply;
  }

  /** Sends `request` and waits `ms`: what came back (nothing, from a silent board). */
  async quiet(request: Uint8Array, ms = 120): Promise<Buffer> {
    this.#received = Buffer.alloc(0);
    this.send(request);
    await sleep(ms);
    const out = this.#received;
    this.#received = Buffer.alloc(0);
    return out;
  }

  /** Sends `request` and reads the reply `matcher` awaits, with the codec's resynchronising reader. */
  async transact<T>(request: Uint8Array, matcher: FrameMatcher<T>, timeoutMs = 1000): Promise<{ value: T; frame: Buffer; skipped: SkipCounts } | { value: null; skipped: SkipCounts }> {
    this.#received = Buffer.alloc(0);
    const reader = new FrameReader(matcher);
    this.send(request);
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.#received.length > 0) {
        const chunk = this.#received;
        this.#received = Buffer.alloc(0);
        const step = reader.push(chunk);
        if (step.kind === 'frame') return { value: step.value, frame: step.frame, skipped: reader.skipped };
      }
      await sleep(2);
    }
    reader.end();
    return { value: null, skipped: reader.skipped };
  }

  close(): void {
    this.stream.destroy();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean, timeoutMs = 1000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}
