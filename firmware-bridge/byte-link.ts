import net from 'node:net';
import type { TransportConfig } from './transport.ts';

// One connection to a line device (the ID-card reader, the QR scanner): a TCP serial server (or the simulator)
// or a local serial port, as raw bytes both ways. The driver above it does the asking and the framing; this only
// opens, writes and closes. The serial port is opened 8N1 at the transport's baud rate.

export interface ByteLinkEvents {
  opened(): void;
  data(chunk: Buffer): void;
  /** Called exactly once per attempt, whether it ever opened or not. */
  closed(error?: Error): void;
}

export interface ByteLink {
  /** Sends bytes; ignored once the link is closing (the driver notices through `closed`). */
  write(bytes: Uint8Array): void;
  /** Resolves once the link is gone. */
  close(): Promise<void>;
}

export { describeTransport } from './open-transport.ts';

export function openByteLink(transport: TransportConfig, events: ByteLinkEvents, options: { connectTimeoutMs: number }): ByteLink {
  return transport.kind === 'tcp' ? openTcp(transport, options.connectTimeoutMs, events) : openSerial(transport, events);
}

function openTcp(config: { host: string; port: number }, connectTimeoutMs: number, events: ByteLinkEvents): ByteLink {
  const socket = net.createConnection({ host: config.host, port: config.port });
  socket.setNoDelay(true);
  socket.setTimeout(connectTimeoutMs, () => socket.destroy(new Error(`no answer within ${connectTimeoutMs} ms`)));
  let lastError: Error | undefined;
  socket.once('connect', () => {
    socket.setTimeout(0);
    // A serial server that loses power never says goodbye: keepalive notices it.
    socket.setKeepAlive(true, 10_000);
    events.opened();
  });
  socket.on('data', (chunk: Buffer) => events.data(chunk));
  socket.on('error', (error) => (lastError = error));
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    events.closed(lastError);
    resolve();
  }));
  return {
    write: (bytes) => {
      if (!socket.destroyed && socket.writable) socket.write(bytes);
    },
    close: () => {
      socket.destroy();
      return closed;
    },
  };
}

function openSerial(config: { path: string; baudRate: number }, events: ByteLinkEvents): ByteLink {
  let closing = false;
  let port: import('serialport').SerialPort | null = null;
  let done = false;
  let finish!: () => void;
  const closed = new Promise<void>((resolve) => (finish = resolve));
  const end = (error?: Error) => {
    if (done) return;
    done = true;
    events.closed(error);
    finish();
  };
  // Loaded on first use, so a cabinet whose devices are on TCP never loads the native serial binding.
  import('serialport').then(({ SerialPort }) => {
    if (closing) return end();
    const p = new SerialPort({ path: config.path, baudRate: config.baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    port = p;
    let lastError: Error | undefined;
    p.on('data', (chunk: Buffer) => events.data(chunk));
    p.on('error', (error: Error) => (lastError = error));
    p.on('close', (error?: Error | null) => end(error ?? lastError));
    // A read of zero bytes ends the stream but leaves the port open: close it, so it is reopened.
    p.on('end', () => { if (p.isOpen) p.close(); });
    p.open((error) => {
      if (error) return end(error);
      if (closing) return p.close(() => end());
      events.opened();
    });
  }).catch((error: unknown) => end(error instanceof Error ? error : new Error(String(error))));
  return {
    write: (bytes) => {
      if (port?.isOpen && !closing) port.write(Buffer.from(bytes));
    },
    close: () => {
      closing = true;
      if (port?.isOpen) port.close((error) => { if (error) end(error); });
      else if (port && !port.opening && !port.closing) end();
      return closed;
    },
  };
}
