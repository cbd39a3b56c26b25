import { z } from 'zod';
import { codec8a80, codecKerong } from '../../firmware-bridge/lockboard/index.ts';
import type { LockboardBusOptions } from '../../firmware-bridge/lockboard/lockboard-board.ts';

// `hardware.bus` of a cabinet whose locks hang on RS-485 lock-control boards (`hardware.driver: "lockboard"`):
// the protocol, the transport, how it is polled, and the codec's settings that vary between boards (the codec
// owns those fields and their messages). Field names follow CONTRACT §7. Each field's `.describe()` goes into
// docs/configuration.md (`npm run docs:config`).

const port = z.number().int().min(0, 'port is the serial server\'s TCP port, 1–65535 (0: a free one, for the simulator)').max(65535, 'ports end at 65535');

const kindMeaning = '"tcp": an RS-485-to-Ethernet serial server in TCP-server mode; "serial": a USB-RS-485 adapter.';
const busTransportSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('tcp').describe(kindMeaning),
    host: z.string().min(1, 'host is the serial server\'s address, e.g. "192.168.1.60"').default('127.0.0.1').describe('The serial server\'s address.'),
    port: port.describe('The serial server\'s TCP port.'),
  }).strict(),
  z.object({
    kind: z.literal('serial').describe(kindMeaning),
    path: z.string().min(1, 'give the RS-485 adapter\'s device, e.g. "/dev/ttyUSB0"').describe('The RS-485 adapter\'s device, e.g. "/dev/ttyUSB0".'),
    baudRate: z.number().int().positive('baudRate is the serial speed; leave it out for the protocol\'s own').optional()
      .describe('Leave it out: the protocol\'s line applies (9600 for 8a80, 19200 for kerong-cu). Another speed needs `customBaudRate`.'),
  }).strict(),
], { error: 'bus.transport.kind is "tcp" (a serial server: host and port) or "serial" (an RS-485 adapter: path)' });

const polling = {
  transport: busTransportSchema.describe('How the bus is reached: a serial server over TCP, or a local RS-485 adapter.'),
  pollMs: z.number().int().min(20, 'pollMs is 20–1000 ms (250 suits a cabinet)').max(1000, 'pollMs is 20–1000 ms (250 suits a cabinet)').default(250)
    .describe('Every board is read this often (ms): door (and item) state is at most this old.'),
  replyMs: z.number().int().min(20, 'replyMs is 20–5000 ms (300 suits a serial server; 100 a local adapter)').max(5000, 'replyMs is 20–5000 ms (300 suits a serial server; 100 a local adapter)').default(300)
    .describe('How long (ms) a status query\'s reply may take (100 suits a local adapter).'),
  openReplyMs: z.number().int().min(100, 'openReplyMs is 100–5000 ms').max(5000, 'openReplyMs is 100–5000 ms').optional()
    .describe('How long (ms) an open\'s reply may take; absent: the protocol\'s (8a80 boards answer after firing: 1500; kerong-cu 1000).'),
  latchMs: z.number().int().min(50, 'latchMs is 50–5000 ms: the board\'s own latch pulse (500 electromagnetic, 1000 motor locks)').max(5000, 'latchMs is 50–5000 ms: the board\'s own latch pulse (500 electromagnetic, 1000 motor locks)').default(500)
    .describe('How long (ms) a board energises a latch for one open (its own pulse: ~500 for electromagnetic locks, ~1000 for motor locks). The next open waits this long, so two latches are never energised at once.'),
  queryRetries: z.number().int().min(0, 'queryRetries is 0–3 (1 suits a cabinet)').max(3, 'queryRetries is 0–3 (1 suits a cabinet)').default(1)
    .describe('A status query that got no reply is asked again this many times; an open never is.'),
  lostAfterPolls: z.number().int().min(1, 'lostAfterPolls is 1–20 (3 suits a cabinet)').max(20, 'lostAfterPolls is 1–20 (3 suits a cabinet)').default(3)
    .describe('A board that misses this many polls in a row is lost (`/health`: hardware "lost"). lostAfterPolls × (pollMs + (1 + queryRetries) × replyMs) must stay under 8000 ms.'),
  customBaudRate: z.boolean({ error: 'customBaudRate is true or false' }).default(false)
    .describe('The boards were set to a speed other than their protocol\'s: only then may transport.baudRate differ from it.'),
};

/**
 * The codec's own settings (their validation and messages are the codec's), each with what it means in the
 * configuration file. `.describe()` labels a copy: the rules stay the codec's.
 */
function describedSettings<Shape extends Record<string, z.ZodType>>(shape: Shape, meaning: { readonly [K in keyof Shape]: string }): Shape {
  return Object.fromEntries(Object.entries(shape).map(([name, field]) => [name, field.describe(meaning[name as keyof Shape])])) as Shape;
}
const lockedWhen = 'Which contact state means the lock is latched (door shut): "set" (8a80: 11 / bit 1; kerong-cu: hook bit 1; most boards) or "clear". Checked at commissioning (`govlocker hardware probe`).';
const protocolMeaning = 'The boards\' protocol: "8a80" (the common 锁控板, 9600 8N1) or "kerong-cu" (Kerong KR-CU12/CU16, 19200 8N1, boards 0–14, with an item sensor per lock).';

const bus8a80 = z.object({
  protocol: z.literal('8a80').describe(protocolMeaning),
  ...polling,
  pollEach: z.enum(['board', 'lock'], { error: 'pollEach is "board" (one query per board) or "lock" (one per lock)' }).default('board')
    .describe('One whole-board query per poll ("board"), or one query per lock ("lock": sidesteps the bit order that varies between boards).'),
  ...describedSettings(codec8a80.settingsSchema.shape, {
    lockedWhen,
    channelsOneToEightIn: 'Which status byte of a whole-board reply holds channels 1–8 (bit 0 = channel 1): "last-byte" on most boards, or "first-byte".',
    highestBoard: 'The highest board address on the bus (DIP switches): 31 on most boards, some go higher.',
    channelsPerBoard: 'Channels (locks) per board; a compartment on a higher channel is refused when the configuration is read.',
  }),
}).strict();

const busKerong = z.object({
  protocol: z.literal('kerong-cu').describe(protocolMeaning),
  ...polling,
  ...describedSettings(codecKerong.settingsSchema.shape, {
    lockedWhen,
    channelsPerBoard: 'Locks per board: 12 (KR-CU12) or 16 (KR-CU16).',
  }),
}).strict();

export const LINES = { '8a80': codec8a80.LINE, 'kerong-cu': codecKerong.LINE } as const;

/** The longest a silent board may take to be reported lost; CONTRACT §7 allows 10 s. */
export const LOSS_BUDGET_MS = 8000;

export const busSchema = z
  .discriminatedUnion('protocol', [bus8a80, busKerong], { error: 'bus.protocol is "8a80" (the common 锁控板, 9600 8N1) or "kerong-cu" (Kerong KR-CU12/CU16, 19200 8N1)' })
  .superRefine((bus, ctx) => {
    const line = LINES[bus.protocol];
    const baud = bus.transport.kind === 'serial' ? bus.transport.baudRate : undefined;
    if (baud !== undefined && baud !== line.baudRate && !bus.customBaudRate) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport', 'baudRate'],
        message: `${bus.protocol} boards talk at ${line.baudRate} 8N1, not ${baud}: leave baudRate out, or, if these boards were set to ${baud}, say so with "customBaudRate": true`,
      });
    }
    // A silent board is lost after lostAfterPolls polls, each asking (1 + queryRetries) times: that must fit the budget.
    const lossMs = bus.lostAfterPolls * (bus.pollMs + (1 + bus.queryRetries) * bus.replyMs);
    if (lossMs > LOSS_BUDGET_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['lostAfterPolls'],
        message: `a silent board would be noticed only after about ${lossMs} ms (lostAfterPolls × (pollMs + (1 + queryRetries) × replyMs)); keep it under ${LOSS_BUDGET_MS} ms: lower lostAfterPolls, replyMs or queryRetries`,
      });
    }
  })
  .transform((bus) => ({
    ...bus,
    transport: bus.transport.kind === 'serial' ? { ...bus.transport, baudRate: bus.transport.baudRate ?? LINES[bus.protocol].baudRate } : bus.transport,
  }));

export type BusConfig = z.output<typeof busSchema>;
export type LockboardProtocol = BusConfig['protocol'];
// The driver takes what this schema gives: the two shapes must stay one.
busSchema satisfies z.ZodType<LockboardBusOptions, unknown>;
