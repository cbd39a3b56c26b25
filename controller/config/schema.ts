import { z } from 'zod';
import type { TransportConfig as BridgeTransportConfig } from '../../firmware-bridge/transport.ts';
import { busSchema } from './lockboard-schema.ts';

// The one configuration file of a cabinet. Every field has a default so an empty file (or none) gives the
// demo cabinet of the contract; environment variables override the file (see ./load.ts).

const port = z.number().int().min(0, 'use 0 to pick a free port, or 1–65535').max(65535, 'ports end at 65535');

export const compartmentSizes = ['S', 'M', 'L'] as const;
export type CompartmentSize = (typeof compartmentSizes)[number];

/**
 * A compartment as the file gives it. Firmata: `lockChannel` (relay output pin) and `doorSensor` (switch input
 * pin). Lock boards: `board` (its address) and `channel` (its 1-based lock number). Which pair is required, and
 * that the two are not mixed, is checked against `hardware.driver` when the file is read (./driver-checks.ts).
 */
export const compartmentConfigSchema = z.object({
  id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a compartment id is a column letter and a two-digit row, e.g. "A01"'),
  size: z.enum(compartmentSizes, { error: 'size is "S", "M" or "L"' }),
  lockChannel: z.number().int().min(0, 'a lock channel is a board output number ≥ 0').optional(),
  doorSensor: z.number().int().min(0, 'a door sensor is a board input number ≥ 0').optional(),
  board: z.number().int().min(0, 'board is the lock board\'s address, a whole number ≥ 0').optional(),
  channel: z.number().int().min(1, 'channel is the lock\'s 1-based number on its board').optional(),
});
export type CompartmentEntry = z.infer<typeof compartmentConfigSchema>;

/**
 * A compartment once the file is read. On a lock board it keeps `board` and `channel`, and its `lockChannel` and
 * `doorSensor` are both `lockId(board, channel)` (the lock's feedback contact is the door's state), so the
 * controller's services know every compartment by one lock number and one sensor number, whatever the driver.
 */
export interface CompartmentConfig {
  readonly id: string;
  readonly size: CompartmentSize;
  readonly lockChannel: number;
  readonly doorSensor: number;
  readonly board?: number;
  readonly channel?: number;
}

const tcpTransport = z.object({ kind: z.literal('tcp'), host: z.string().min(1, 'host is the board\'s address, e.g. "192.168.1.50"').default('127.0.0.1'), port }).strict();
const serialTransport = z.object({
  kind: z.literal('serial'),
  path: z.string().min(1, 'give the serial device, e.g. "/dev/ttyUSB0"'),
  baudRate: z.number().int().positive('baudRate is the serial speed, e.g. 57600').default(57600),
}).strict();
export const transportSchema = z.discriminatedUnion('kind', [tcpTransport, serialTransport], {
  error: 'transport.kind is "tcp" (with host and port) or "serial" (with path)',
});
export type TransportConfig = z.infer<typeof transportSchema>;
// The bridge opens what this schema describes: the two shapes must stay one.
transportSchema satisfies z.ZodType<BridgeTransportConfig, unknown>;

/** What the cabinet's rules need of the hardware, whatever the driver. */
const hardwareTiming = {
  /** Firmata only: how long a lock relay is energised for one open (a lock board times its own pulse). */
  pulseMs: z.number().int().min(20, 'a pulse under 20 ms does not release a latch').max(2000, 'a relay held over 2 s overheats the solenoid').default(300),
  /** Firmata only: after a door switch changes, its contacts settle this long (lock boards are polled, see bus.pollMs). */
  debounceMs: z.number().int().min(0, 'debounceMs is 0–1000 ms (20 suits reed switches)').max(1000, 'debounceMs is 0–1000 ms (20 suits reed switches)').default(20),
  /** A door that has not opened this long after its pulse gets one retry, then counts as jammed. */
  openTimeoutMs: z.number().int().min(100, 'openTimeoutMs is 100–60000 ms').max(60_000, 'openTimeoutMs is 100–60000 ms').default(2000),
  /** Start-up gives up (and keeps retrying in the background) after this long without the board. */
  readyTimeoutMs: z.number().int().min(100, 'readyTimeoutMs is at least 100').default(10_000),
  /** A door open longer than this (whatever opened it) reports `door.left_open`, and again every as long, until it closes. */
  leftOpenMs: z.number().int().min(100, 'leftOpenMs is 100–86400000 ms (120000 = 2 min suits a hall)').max(86_400_000, 'leftOpenMs is 100–86400000 ms (120000 = 2 min suits a hall)').default(120_000),
  /**
   * A door nobody unlocked counts as opened (and forced) only once it has stayed open this long; shorter is a
   * sensor glitch (`sensor.glitch`), not an open/close pair. Doors opened by a pulse count at once.
   */
  minOpenMs: z.number().int().min(0, 'minOpenMs is 0–5000 ms (200 suits a hall: nobody opens and shuts a door faster)').max(5000, 'minOpenMs is 0–5000 ms (200 suits a hall: nobody opens and shuts a door faster)').default(200),
  /**
   * A door switch that changes this often (`edges` within `withinMs`) with no open in progress is faulty: the
   * compartment goes out of service. Edges of a door the cabinet is opening for someone do not count.
   */
  sensorChatter: z.object({
    edges: z.number().int().min(4, 'sensorChatter.edges is 4–1000 (10 suits a hall)').max(1000, 'sensorChatter.edges is 4–1000 (10 suits a hall)').default(10),
    withinMs: z.number().int().min(100, 'sensorChatter.withinMs is 100–600000 ms').max(600_000, 'sensorChatter.withinMs is 100–600000 ms').default(5000),
  }).strict().default({ edges: 10, withinMs: 5000 }),
  /** A door reported open without a break this long: its switch is taken to be stuck (`sensor.stuck`), out of service. */
  stuckOpenMs: z.number().int().min(1000, 'stuckOpenMs is 1000–604800000 ms (3600000 = 1 h)').max(604_800_000, 'stuckOpenMs is 1000–604800000 ms (3600000 = 1 h)').default(3_600_000),
};

/** A field of one driver given with the other: refused by name, saying which driver it belongs to. */
const belongsTo = (message: string) => z.undefined({ error: `${message} (this file mixes drivers' fields)` }).optional();

const firmataHardware = z.object({
  /** The default: the demo cabinet's Arduino. */
  driver: z.literal('firmata').default('firmata'),
  transport: transportSchema.default({ kind: 'tcp', host: '127.0.0.1', port: 3030 }),
  ...hardwareTiming,
  bus: belongsTo('bus is for "driver": "lockboard" (RS-485 lock boards): set the driver, or remove bus'),
}).strict();

const lockboardHardware = z.object({
  driver: z.literal('lockboard'),
  bus: busSchema,
  ...hardwareTiming,
  transport: belongsTo('transport is the Firmata board\'s: with "driver": "lockboard" the bus names its own (hardware.bus.transport)'),
}).strict();

export const hardwareSchema = z.discriminatedUnion('driver', [firmataHardware, lockboardHardware], {
  error: 'the hardware driver is "firmata" (an Arduino running StandardFirmata) or "lockboard" (RS-485 lock-control boards, see hardware.bus)',
});

export type HardwareConfig = z.infer<typeof hardwareSchema>;

export const scannerSchema = z.object({ transport: transportSchema }).strict();

/** The resident ID-card reader (二代证 SAM module): its serial line runs at 115200 8N1 unless told otherwise. */
const idReaderSerial = serialTransport.extend({ baudRate: z.number().int().positive('baudRate is the serial speed, e.g. 115200').default(115_200) });
export const idReaderSchema = z.object({
  transport: z.discriminatedUnion('kind', [tcpTransport, idReaderSerial], { error: 'idReader.transport.kind is "tcp" (with host and port) or "serial" (with path)' }),
}).strict();
export type ScannerConfig = z.infer<typeof scannerSchema>;

export const policySchema = z.object({
  /** How long a pickup credential works; then the case is overdue. */
  credentialTtlHours: z.number().positive('credentialTtlHours is more than 0 and at most 2160 (168 = 7 days)').max(24 * 90, 'credentialTtlHours is at most 2160 hours (90 days); 168 = 7 days').default(24 * 7),
  /** When the QR form needs the ID suffix too: only for seals/tax devices, or always. */
  qrNeedsIdSuffix: z.enum(['sensitive-items', 'always'], { error: 'qrNeedsIdSuffix is "sensitive-items" or "always"' }).default('sensitive-items'),
  /** Consecutive failed attempts (cabinet-wide) that start a lockout. The contract asks for 5 or more. */
  lockoutAfterFailures: z.number().int().min(5, 'the lockout must allow at least 4 mistakes: use 5 or more').max(100, 'lockoutAfterFailures is 5–100').default(5),
  /** First lockout length; each further lockout in a row doubles it, up to 1 hour. */
  lockoutSeconds: z.number().int().min(1, 'lockoutSeconds is 1–3600 (60 suits a hall)').max(3600, 'lockoutSeconds is 1–3600 (60 suits a hall)').default(60),
  /** Failed attempts per calendar day after which code entry stops until a clerk re-enables it. */
  dailyFailureCeiling: z.number().int().min(10, 'dailyFailureCeiling is 10–100000 (100 suits a hall)').max(100_000, 'dailyFailureCeiling is 10–100000 (100 suits a hall)').default(100),
  /** Kiosk requests accepted per client in a 10-second window: a person's pace, refusing scripted bursts. */
  kioskRequestsPer10s: z.number().int().min(1, 'kioskRequestsPer10s is 1–10000 (10: a person\'s pace)').max(10_000, 'kioskRequestsPer10s is 1–10000 (10: a person\'s pace)').default(10),
  /** Remote opens (ops, over MQTT or the API) allowed per minute; the next is refused and raises an alarm. */
  remoteOpensPerMinute: z.number().int().min(1, 'remoteOpensPerMinute is 1–60 (3 suits central ops)').max(60, 'remoteOpensPerMinute is 1–60 (3 suits central ops)').default(3),
  /**
   * Personal data (GB/T 35273): this long after a case was collected or retrieved, its applicant's encrypted
   * name, phone and ID number, the ID-suffix hash and any undelivered notification are erased.
   */
  purgeAfterHours: z.number().min(1, 'purgeAfterHours is 1–8760 hours after collection (720 = 30 days)').max(24 * 365, 'purgeAfterHours is 1–8760 hours after collection (720 = 30 days): keep personal data no longer than a year').default(720),
  /** Window shown to applicants when something fails. */
  helpWindow: z.string().min(1, 'helpWindow names the service window, e.g. "1" or "A3"').max(20, 'helpWindow is at most 20 characters, e.g. "1" or "A3"').default('1'),
}).strict();
export type PickupPolicy = z.infer<typeof policySchema>;

export const mqttSchema = z.object({
  url: z.string().regex(/^mqtts?:\/\/[^/\s]+/, 'MQTT_URL is mqtt://host:port or mqtts://host:port, e.g. "mqtt://ops.example:1883"'),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** Files for TLS with a client certificate per cabinet (mqtts). */
  tls: z.object({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).strict().optional(),
  keepaliveSeconds: z.number().int().min(5, 'keepaliveSeconds is 5–3600 (30 suits most brokers)').max(3600, 'keepaliveSeconds is 5–3600 (30 suits most brokers)').default(30),
  /** Jittered exponential reconnect delay. */
  reconnect: z.object({ minMs: z.number().int().min(10, 'reconnect.minMs is at least 10 (500 suits most sites)').default(500), maxMs: z.number().int().min(100, 'reconnect.maxMs is at least 100 (30000 suits most sites)').default(30_000) }).default({ minMs: 500, maxMs: 30_000 }),
  /** The HMAC key ops sign commands with (hex, 32 bytes). Made at first start when missing. */
  commandKeyFile: z.string().min(1).optional(),
  /** QoS-1 publishes in flight at once while draining the outbox. */
  window: z.number().int().min(1, 'window is 1–65000 publishes in flight (1000 suits most brokers)').max(65_000, 'window is 1–65000 publishes in flight (1000 suits most brokers)').default(1000),
  /** Sent events are kept this long for `replay` (at least 7 days). */
  keepSentDays: z.number().min(7, 'the contract keeps sent events at least 7 days').default(8),
  /** Unsent events kept at the most; beyond it the oldest are dropped and an `outbox.overflow` event says which. */
  maxUnsent: z.number().int().min(1000, 'maxUnsent is at least 1000 events (2000000 ≈ weeks offline)').default(2_000_000),
}).strict();
export type MqttConfig = z.infer<typeof mqttSchema>;

export const apiSchema = z.object({
  host: z.string().default('0.0.0.0'),
  port: port.default(8080),
  /**
   * Who may use the kiosk endpoints (no sign-in): the cabinet's own screen, on loopback by default. "*" lets
   * any address in (only behind a network that only the kiosk reaches).
   */
  kioskClients: z.array(z.string().min(1)).default(['127.0.0.1', '::1', '::ffff:127.0.0.1']),
}).strict();

export const configSchema = z
  .object({
    cabinetId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'a cabinet id is 1–32 letters, digits, "-" or "_", e.g. "DEMO-01"').default('DEMO-01'),
    dataDir: z.string().min(1).default('./data'),
    api: apiSchema.default(apiSchema.parse({})),
    hardware: hardwareSchema.default(hardwareSchema.parse({})),
    scanner: scannerSchema.nullable().default({ transport: { kind: 'tcp', host: '127.0.0.1', port: 3031 } }),
    idReader: idReaderSchema.optional(),
    compartments: z.array(compartmentConfigSchema).min(1, 'a cabinet needs at least one compartment').optional(),
    policy: policySchema.default(policySchema.parse({})),
    /** Central ops over MQTT; null (no MQTT_URL): not connected. */
    mqtt: mqttSchema.nullable().default(null),
  })
  .strict();

export type CabinetConfigInput = z.input<typeof configSchema>;
export type CabinetConfig = Omit<z.infer<typeof configSchema>, 'compartments'> & { compartments: CompartmentConfig[] };
