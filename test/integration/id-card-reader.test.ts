import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CardRead, IdCardFramer, encodeReadReply, encodeReply, parseRequest, type IdCardCommand } from '../../firmware-bridge/idcard/index.ts';
import { IdCardReader, type IdCardReaderOptions } from '../../firmware-bridge/idcard/reader.ts';
import type { LinkState } from '../../firmware-bridge/ports.ts';
import { IdCardDeviceEmulator } from '../../simulator/idcard-device.ts';
import { until } from '../support/cabinet-harness.ts';

// The ID-card reader's driver against the simulated reader over real TCP (and a real pseudo-terminal), and
// against a scripted reader that splits, stalls and garbles its replies: cards reported once, link states,
// refusals counted, and nothing left running after stop().

const CARD = { idNumber: '440106199001011235', name: '张三' };
// Quick polls and reconnects; timeouts with room for a busy machine (a loopback answer takes well under 1 ms).
const FAST: Partial<IdCardReaderOptions> = { pollMs: 30, replyTimeoutMs: 500, readTimeoutMs: 1000, idleMs: 100, reconnect: { minMs: 20, maxMs: 100 } };
const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function emulator(): Promise<IdCardDeviceEmulator> {
  const device = new IdCardDeviceEmulator({ port: 0 });
  await device.start();
  cleanups.push(() => device.stop());
  return device;
}

function driverFor(port: number, options: Partial<IdCardReaderOptions> = {}): { reader: IdCardReader; cards: CardRead[]; links: LinkState[] } {
  const reader = new IdCardReader({ transport: { kind: 'tcp', host: '127.0.0.1', port }, ...FAST, ...options });
  const cards: CardRead[] = [];
  const links: LinkState[] = [];
  reader.onCard((c) => cards.push(c));
  reader.onLink((l) => links.push(l));
  cleanups.push(() => reader.stop());
  return { reader, cards, links };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IdCardReader against the simulated reader', () => {
  it('reports a card once while it lies on the reader, and again only after it was taken away; the card prints masked', async () => {
    const device = await emulator();
    const { reader, cards } = driverFor(device.port);
    await reader.start();
    expect(reader.link).toBe('ok');
    device.putCard(CARD);
    await until(() => cards.length === 1, 2000, 'the card reported');
    await sleep(400); // many polls with the card still there
    expect(cards).toHaveLength(1);
    expect(cards[0]!.idNumber).toBe(CARD.idNumber);
    for (const printed of [JSON.stringify(cards[0]), inspect(cards[0]), String(cards[0]), JSON.stringify({ ...cards[0] })]) {
      expect(printed).not.toContain(CARD.idNumber);
    }
    expect(cards[0]!.masked).toBe('440106********1235');

    device.takeCard();
    await sleep(200);
    device.putCard(CARD);
    await until(() => cards.length === 2, 2000, 'the card reported again');
    expect(reader.stats).toMatchObject({ cards: 2, timeouts: 0, strayFrames: 0, refusals: {} });
    expect(device.state.requests).toMatchObject({ 'select-card': 2, 'read-card': 2 });
  });

  it('one failing card listener does not stop the others', async () => {
    const device = await emulator();
    const { reader, cards } = driverFor(device.port);
    reader.onCard(() => { throw new Error('a listener bug'); });
    const after: CardRead[] = [];
    reader.onCard((c) => after.push(c));
    await reader.start();
    device.putCard(CARD);
    await until(() => after.length === 1, 2000, 'the later listener called');
    expect(cards).toHaveLength(1);
  });

  it('counts refusals by status and keeps polling: a checksum error, an unreadable card, garbled replies', async () => {
    const device = await emulator();
    const { reader, cards } = driverFor(device.port);
    await reader.start();
    device.putCard(CARD);
    device.setFault('checksum');
    await until(() => (reader.stats.refusals['checksum-error'] ?? 0) >= 3, 2000, 'checksum errors counted');
    device.setFault('unreadable');
    await until(() => (reader.stats.refusals['read-failed'] ?? 0) >= 3, 2000, 'failed reads counted');
    device.setFault('garbled');
    await until(() => reader.stats.framer.badChecksum >= 2, 2000, 'garbled replies refused by the framer');
    expect(cards).toHaveLength(0);
    device.setFault(null);
    await until(() => cards.length === 1, 3000, 'the card read once the fault cleared');
  });

  it('a reader that stops answering is lost; it is ok again when it answers', async () => {
    const device = await emulator();
    const { reader, links } = driverFor(device.port, { silentRequestsLimit: 3 });
    await reader.start();
    device.disconnect('silent');
    await until(() => reader.link === 'lost', 5000, 'lost');
    device.connect();
    await until(() => reader.link === 'ok', 3000, 'ok again');
    expect(links).toEqual(['ok', 'lost', 'ok']);
    expect(reader.stats.timeouts).toBeGreaterThanOrEqual(3);
  });

  it('a pulled cable is lost, not a crash; the driver reconnects by itself and reads the card lying there', async () => {
    const device = await emulator();
    const { reader, cards } = driverFor(device.port);
    await reader.start();
    device.disconnect('drop');
    await until(() => reader.link === 'lost', 2000, 'lost');
    await sleep(200);
    device.putCard(CARD);
    device.connect();
    await until(() => reader.link === 'ok', 3000, 'reconnected');
    await until(() => cards.length === 1, 2000, 'card read after the reconnect');
  });

  it('start() with no reader listening settles, and stop() leaves nothing polling', async () => {
    const device = await emulator();
    const port = device.port;
    await device.stop();
    const { reader } = driverFor(port);
    await reader.start();
    expect(reader.link).toBe('lost');
    const revived = new IdCardDeviceEmulator({ port });
    await revived.start();
    cleanups.push(() => revived.stop());
    await until(() => reader.link === 'ok', 3000, 'found the reader once it came');
    await reader.stop();
    const asked = revived.state.requests['find-card'] ?? 0;
    await sleep(200);
    expect(revived.state.requests['find-card'] ?? 0).toBe(asked);
    expect(revived.state.host).toBe('waiting');
  });

  it.skipIf(!hasSocat)('reads a card through a real pseudo-terminal at 115200 8N1', async () => {
    const device = await emulator();
    const path = await device.openPty();
    const reader = new IdCardReader({ transport: { kind: 'serial', path, baudRate: 115200 }, ...FAST });
    const cards: CardRead[] = [];
    reader.onCard((c) => cards.push(c));
    cleanups.push(() => reader.stop());
    await reader.start();
    await until(() => reader.link === 'ok', 3000, 'ok over the pty');
    device.putCard(CARD);
    await until(() => cards.length === 1, 3000, 'the card read over the pty');
    expect(cards[0]!.masked).toBe('440106********1235');
  });
});

/** A reader whose answers the test writes: `answer` gets each request and writes whatever it likes, when it likes. */
async function scriptedReader(answer: (command: IdCardCommand, socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    const framer = new IdCardFramer({ maxFrameLength: 64 });
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      for (const frame of framer.push(chunk)) {
        const request = parseRequest(frame);
        if (request.ok) answer(request.command, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

/** A read reply carrying a card, as the emulator builds it (text block from a real emulated card). */
function readReply(): Buffer {
  const text = Buffer.alloc(256, 0);
  text.write(' '.repeat(128), 0, 256, 'utf16le');
  text.write(CARD.idNumber, 122, 36, 'utf16le');
  text.write('长期', 204, 4, 'utf16le');
  return encodeReadReply(text, Buffer.alloc(1024, 0x5a));
}

describe('IdCardReader on a difficult line', () => {
  it('joins a read reply split across packets, skips junk before it, and gives up a reply cut short by silence', async () => {
    let reads = 0;
    const port = await scriptedReader((command, socket) => {
      if (command === 'find-card') return void socket.write(encodeReply('card-found', Buffer.alloc(4)));
      if (command === 'select-card') return void socket.write(encodeReply('ok', Buffer.alloc(8)));
      const reply = readReply();
      reads++;
      if (reads === 1) {
        // Half a reply, then nothing: the driver must not wait for the rest forever or take it with the next one.
        socket.write(reply.subarray(0, 600));
        return;
      }
      socket.write(Buffer.concat([Buffer.from([0xfa, 0xfd, 0x99, 0x99]), reply.subarray(0, 500)]));
      setTimeout(() => socket.write(reply.subarray(500, 1000)), 10);
      setTimeout(() => socket.write(reply.subarray(1000)), 20);
    });
    // Gaps of 10 ms between the pieces may stretch on a busy machine: the line counts as quiet only after 200 ms.
    const { reader, cards } = driverFor(port, { idleMs: 200, readTimeoutMs: 800 });
    await reader.start();
    await until(() => cards.length === 1, 5000, 'the card from the split reply');
    expect(reads).toBe(2);
    expect(cards[0]!.idNumber).toBe(CARD.idNumber);
    expect(cards[0]!.validUntil).toBe('long-term');
    const stats = reader.stats;
    expect(stats.timeouts).toBe(1);
    expect(stats.framer.skippedBytes).toBeGreaterThanOrEqual(4);
    expect(stats.framer.abandoned).toBeGreaterThanOrEqual(1);
  });

  it('a late reply to a timed-out read is not taken for the answer to the next find', async () => {
    let reads = 0;
    const port = await scriptedReader((command, socket) => {
      if (command === 'find-card') return void socket.write(encodeReply('card-found', Buffer.alloc(4)));
      if (command === 'select-card') return void socket.write(encodeReply('ok', Buffer.alloc(8)));
      reads++;
      // The first read answers after the driver gave up on it.
      setTimeout(() => socket.write(readReply()), reads === 1 ? 700 : 0);
    });
    const { reader, cards } = driverFor(port, { readTimeoutMs: 300 });
    await reader.start();
    await until(() => cards.length === 1, 3000, 'the card');
    await until(() => reader.stats.strayFrames >= 1, 2000, 'the late reply wiped as stray');
    await sleep(100);
    expect(cards).toHaveLength(1);
    expect(reader.stats.refusals).toEqual({});
  });
});
