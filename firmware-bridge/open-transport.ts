import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import type { TransportConfig } from './transport.ts';

// Opening and closing a device's transport, shared by the drivers: a TCP socket (a WiFi/Ethernet board, an
// RS-485-to-Ethernet converter, a serial server) or a local serial port. What runs on top is the driver's.

/** How bytes are framed on a serial line; TCP ignores it (the serial server's own settings apply there). */
export interface SerialFraming {
  readonly dataBits?: 5 | 6 | 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
}

export interface OpenTransportOptions {
  /** The TCP connection must be made within this. */
  readonly timeoutMs: number;
  /** Aborting closes whatever is open and rejects. */
  readonly signal?: AbortSignal;
  /** Serial framing (8N1 when not given). */
  readonly framing?: SerialFraming;
  /**
   * TCP only: each read is handed to the 'data' listeners straight from the socket, copied out of one reused
   * buffer, without the stream's queueing (for a bus polled several times a second, most of what a read costs).
   */
  readonly directReads?: boolean;
}

/** Large enough for any reply a lock board or reader sends; a longer read arrives as several chunks. */
const DIRECT_READ_BYTES = 4096;

/** Opens the transport; rejects (leaving nothing open) when it cannot. */
export async function openTransport(transport: TransportConfig, options: OpenTransportOptions): Promise<Duplex> {
  const { signal } = options;
  if (signal?.aborted) throw new Error('aborted');
  if (transport.kind === 'tcp') {
    const socket: net.Socket = net.createConnection({
      host: transport.host,
      port: transport.port,
      ...(options.directReads
        ? { onread: { buffer: Buffer.allocUnsafe(DIRECT_READ_BYTES), callback: (bytes: number, buffer: Uint8Array): boolean => (socket.emit('data', Buffer.from(buffer.subarray(0, bytes))), true) } }
        : {}),
    });
    socket.setNoDelay(true); // requests are a few bytes: the worst case for Nagle
    const onAbort = (): void => void socket.destroy();
    signal?.addEventListener('abort', onAbort);
    try {
      await settle(socket, 'connect', options.timeoutMs, `no TCP connection to ${transport.host}:${transport.port}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    socket.setKeepAlive(true, 1000);
    return socket;
  }
  const framing = options.framing ?? {};
  const port = new SerialPort({
    path: transport.path,
    baudRate: transport.baudRate,
    dataBits: framing.dataBits ?? 8,
    parity: framing.parity ?? 'none',
    stopBits: framing.stopBits ?? 1,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(new Error(`cannot open ${transport.path}: ${error.message}`)) : resolve())));
  if (signal?.aborted) {
    port.destroy();
    throw new Error('aborted');
  }
  return port;
}

/** `tcp://host:port` or `/dev/ttyUSB0@9600`, for logs and messages. */
export function describeTransport(transport: TransportConfig): string {
  return transport.kind === 'tcp' ? `tcp://${transport.host}:${transport.port}` : `${transport.path}@${transport.baudRate}`;
}

/** Lets what was written reach the OS, then ends the stream (or gives up after the timeout). */
export function finishWrites(stream: Duplex, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    if (stream instanceof SerialPort) stream.drain(() => done());
    else stream.end(done);
  });
}

/** Resolves on `event`; rejects (and destroys the stream) on error, close or timeout. */
function settle(stream: Duplex, event: string, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      clearTimeout(timer);
      stream.off(event, onEvent).off('error', onError).off('close', onClose);
      if (error) {
        stream.destroy();
        reject(error);
      } else resolve();
    };
    const onEvent = (): void => done();
    const onError = (error: Error): void => done(new Error(`${what}: ${error.message}`));
    const onClose = (): void => done(new Error(`${what}: closed`));
    const timer = setTimeout(() => done(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs);
    stream.once(event, onEvent).once('error', onError).once('close', onClose);
  });
}
