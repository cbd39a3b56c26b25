import { z } from 'zod';
import type { TransportConfig as BridgeTransportConfig } from '../../firmware-bridge/transport.ts';
import { busSchema } from './lockboard-schema.ts';
import { staffSchema } from './staff-schema.ts';

// The one configuration file of a cabinet. Every field has a default so an empty file (or none) gives the
// demo cabinet of the contract; environment variables override the file (see ./load.ts). Each field's
// `.describe()` says what it means for the people who write the file: docs/configuration.md is generated from
// them (`npm run docs:config`).

const port = z.number().int().min(0, 'use 0 to pick a free port, or 1–65535').max(65535, 'ports end at 65535');

export const compartmentSizes = ['S', 'M', 'L'] as const;
export type CompartmentSize = (typeof compartmentSizes)[number];

/**
 * A compartment as the file gives it. Firmata: `lockChannel` (relay output pin) and `doorSensor` (switch input
 * pin). Lock boards: `board` (its address) and `channel` (its 1-based lock number). Which pair is required, and
 * that the two are not mixed, is checked against `hardware.driver` when the file is read (./driver-checks.ts).
 */
export const compartmentConfigSchema = z.object({
  id: z.string().regex(/^[A-Z][0-9]{2}$/, 'a compartment id is a column letter and a two-digit row, e.g. "A01"')
    .describe('The compartment\'s id: a column letter and a two-digit row, e.g. "A01".'),
  size: z.enum(compartmentSizes, { error: 'size is "S", "M" or "L"' })
    .describe('What fits: a framed licence original needs L; a licence copy, invoices and other documents M; seals and tax keys fit anywhere.'),
  lockChannel: z.number().int().min(0, 'a lock channel is a board output number ≥ 0').optional()
    .describe('Firmata: the output pin of the compartment\'s lock relay. Required with the Firmata driver, refused with lock boards.'),
  doorSensor: z.number().int().min(0, 'a door sensor is a board input number ≥ 0').optional()
    .describe('Firmata: the input pin of the compartment\'s door switch (HIGH = open). Required with the Firmata driver, refused with lock boards.'),
  board: z.number().int().min(0, 'board is the lock board\'s address, a whole number ≥ 0').optional()
    .describe('Lock boards: the address of the board the lock hangs on (8a80: DIP switches, 1–31 by default; kerong-cu: the rotary switch, 0–14). Required with lock boards.'),
  channel: z.number().int().min(1, 'channel is the lock\'s 1-based number on its board').optional()
    .describe('Lock boards: the lock\'s 1-based number on its board. Required with lock boards; one compartment per board and channel.'),
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

const tcpTransport = z.object({
  kind: z.literal('tcp').describe('"tcp": over the network (a device on the LAN, or a serial-to-Ethernet server); "serial": a local serial port.'),
  host: z.string().min(1, 'host is the board\'s address, e.g. "192.168.1.50"').default('127.0.0.1').describe('The device\'s (or serial server\'s) address.'),
  port: port.describe('Its TCP port (0: a free one, for the simulator).'),
}).strict();
const serialTransport = z.object({
  kind: z.literal('serial').describe('"tcp": over the network (a device on the LAN, or a serial-to-Ethernet server); "serial": a local serial port.'),
  path: z.string().min(1, 'give the serial device, e.g. "/dev/ttyUSB0"').describe('The serial device, e.g. "/dev/ttyACM0" or "/dev/ttyUSB0".'),
  baudRate: z.number().int().positive('baudRate is the serial speed, e.g. 57600').default(57600).describe('The serial speed in baud (8N1).'),
}).strict();
export const transportSchema = z.discriminatedUnion('kind', [tcpTransport, serialTransport], {
  error: 'transport.kind is "tcp" (with host and port) or "serial" (with path)',
});
export type TransportConfig = z.infer<typeof transportSchema>;
// The bridge opens what this schema describes: the two shapes must stay one.
transportSchema satisfies z.ZodType<BridgeTransportConfig, unknown>;

/** What the cabinet's rules need of the hardware, whatever the driver. */
const hardwareTiming = {
  pulseMs: z.number().int().min(20, 'a pulse under 20 ms does not release a latch').max(2000, 'a relay held over 2 s overheats the solenoid').default(300)
    .describe('Firmata only: how long a lock relay is energised for one open, at the most (it is switched off as soon as the door is seen open). A lock board times its own pulse.'),
  debounceMs: z.number().int().min(0, 'debounceMs is 0–1000 ms (20 suits reed switches)').max(1000, 'debounceMs is 0–1000 ms (20 suits reed switches)').default(20)
    .describe('Firmata only: after a door switch changes, its contacts settle this long (ms); the first change counts at once. Lock boards are polled instead (hardware.bus.pollMs).'),
  openTimeoutMs: z.number().int().min(100, 'openTimeoutMs is 100–60000 ms').max(60_000, 'openTimeoutMs is 100–60000 ms').default(2000)
    .describe('A door that has not opened this long (ms) after its pulse gets one retry, then counts as jammed (`door.jammed`).'),
  readyTimeoutMs: z.number().int().min(100, 'readyTimeoutMs is at least 100').default(10_000)
    .describe('Start-up gives up waiting for the board after this long (ms), and keeps retrying in the background.'),
  leftOpenMs: z.number().int().min(100, 'leftOpenMs is 100–86400000 ms (120000 = 2 min suits a hall)').max(86_400_000, 'leftOpenMs is 100–86400000 ms (120000 = 2 min suits a hall)').default(120_000)
    .describe('A door open longer than this (ms; whatever opened it) reports `door.left_open`, and again every as long, until it closes.'),
  minOpenMs: z.number().int().min(0, 'minOpenMs is 0–5000 ms (200 suits a hall: nobody opens and shuts a door faster)').max(5000, 'minOpenMs is 0–5000 ms (200 suits a hall: nobody opens and shuts a door faster)').default(200)
    .describe('A door nobody unlocked counts as opened (and forced) only once it has stayed open this long (ms); shorter is a sensor glitch (`sensor.glitch`), not an open/close pair. Doors opened by a pulse count at once.'),
  sensorChatter: z.object({
    edges: z.number().int().min(4, 'sensorChatter.edges is 4–1000 (10 suits a hall)').max(1000, 'sensorChatter.edges is 4–1000 (10 suits a hall)').default(10)
      .describe('How many changes of one door switch within `withinMs` make it faulty.'),
    withinMs: z.number().int().min(100, 'sensorChatter.withinMs is 100–600000 ms').max(600_000, 'sensorChatter.withinMs is 100–600000 ms').default(5000)
      .describe('The window (ms) in which `edges` changes make a door switch faulty.'),
  }).strict().default({ edges: 10, withinMs: 5000 })
    .describe('A door switch that changes this often (`edges` within `withinMs`) with no open in progress is faulty (`sensor.faulty`): the compartment goes out of service. Edges of a door the cabinet is opening for someone do not count.'),
  stuckOpenMs: z.number().int().min(1000, 'stuckOpenMs is 1000–604800000 ms (3600000 = 1 h)').max(604_800_000, 'stuckOpenMs is 1000–604800000 ms (3600000 = 1 h)').default(3_600_000)
    .describe('A door reported open without a break this long (ms): its switch is taken to be stuck (`sensor.stuck`) and the compartment goes out of service.'),
};

/** A field of one driver given with the other: refused by name, saying which driver it belongs to. */
const belongsTo = (message: string) => z.undefined({ error: `${message} (this file mixes drivers' fields)` }).optional();

const driverMeaning = 'Which hardware drives the locks: "firmata" (the default, the demo cabinet\'s Arduino running StandardFirmata) or "lockboard" (RS-485 lock-control boards). The other driver\'s fields are refused.';

const firmataHardware = z.object({
  driver: z.literal('firmata').default('firmata').describe(driverMeaning),
  transport: transportSchema.default({ kind: 'tcp', host: '127.0.0.1', port: 3030 })
    .describe('How the Firmata board is reached: a USB serial port, or TCP (StandardFirmataWiFi listens on 3030; GOVLOCKER_FIRMATA_PORT overrides the port).'),
  ...hardwareTiming,
  bus: belongsTo('bus is for "driver": "lockboard" (RS-485 lock boards): set the driver, or remove bus'),
}).strict();

const lockboardHardware = z.object({
  driver: z.literal('lockboard').describe(driverMeaning),
  bus: busSchema.describe('The RS-485 bus of the lock boards: their protocol, how it is reached, and how it is polled.'),
  ...hardwareTiming,
  transport: belongsTo('transport is the Firmata board\'s: with "driver": "lockboard" the bus names its own (hardware.bus.transport)'),
}).strict();

export const hardwareSchema = z.discriminatedUnion('driver', [firmataHardware, lockboardHardware], {
  error: 'the hardware driver is "firmata" (an Arduino running StandardFirmata) or "lockboard" (RS-485 lock-control boards, see hardware.bus)',
});

export type HardwareConfig = z.infer<typeof hardwareSchema>;

export const scannerSchema = z.object({
  transport: transportSchema.describe('How the scanner is reached: a serial port, or TCP (a serial-to-Ethernet scanner; GOVLOCKER_SCANNER_PORT overrides the port).'),
}).strict();

/** The resident ID-card reader (二代证 SAM module): its serial line runs at 115200 8N1 unless told otherwise. */
const idReaderSerial = serialTransport.extend({ baudRate: z.number().int().positive('baudRate is the serial speed, e.g. 115200').default(115_200).describe('The serial speed in baud (8N1).') });
export const idReaderSchema = z.object({
  transport: z.discriminatedUnion('kind', [tcpTransport, idReaderSerial], { error: 'idReader.transport.kind is "tcp" (with host and port) or "serial" (with path)' })
    .describe('How the reader is reached: its serial port, or TCP (a serial server).'),
}).strict();
export type ScannerConfig = z.infer<typeof scannerSchema>;

export const policySchema = z.object({
  credentialTtlHours: z.number().positive('credentialTtlHours is more than 0 and at most 2160 (168 = 7 days)').max(24 * 90, 'credentialTtlHours is at most 2160 hours (90 days); 168 = 7 days').default(24 * 7)
    .describe('How long a pickup credential works (hours); then the case is overdue and, as `whenOverdue` says, the kiosk sends the applicant to the window.'),
  qrNeedsIdSuffix: z.enum(['sensitive-items', 'always'], { error: 'qrNeedsIdSuffix is "sensitive-items" or "always"' }).default('sensitive-items')
    .describe('When the QR form needs the ID suffix too: "sensitive-items" (only for cases holding a seal or tax device) or "always". The 8-digit code always needs it.'),
  lockoutAfterFailures: z.number().int().min(5, 'the lockout must allow at least 4 mistakes: use 5 or more').max(100, 'lockoutAfterFailures is 5–100').default(5)
    .describe('Consecutive failed attempts (cabinet-wide, not per code) that start a lockout; at least 5, so that a person may mistype four times.'),
  lockoutSeconds: z.number().int().min(1, 'lockoutSeconds is 1–3600 (60 suits a hall)').max(3600, 'lockoutSeconds is 1–3600 (60 suits a hall)').default(60)
    .describe('The first lockout\'s length (s); each further lockout in a row doubles it, up to 1 hour.'),
  dailyFailureCeiling: z.number().int().min(10, 'dailyFailureCeiling is 10–100000 (100 suits a hall)').max(100_000, 'dailyFailureCeiling is 10–100000 (100 suits a hall)').default(100)
    .describe('Failed attempts per calendar day after which code entry stops, with an alarm for ops, until a clerk resumes it.'),
  kioskRequestsPer10s: z.number().int().min(1, 'kioskRequestsPer10s is 1–10000 (10: a person\'s pace)').max(10_000, 'kioskRequestsPer10s is 1–10000 (10: a person\'s pace)').default(10)
    .describe('Kiosk requests accepted per client in a 10-second window: a person\'s pace, refusing scripted bursts.'),
  remoteOpensPerMinute: z.number().int().min(1, 'remoteOpensPerMinute is 1–60 (3 suits central ops)').max(60, 'remoteOpensPerMinute is 1–60 (3 suits central ops)').default(3)
    .describe('Remote opens (ops, over MQTT or the API) allowed per minute; the next is refused and raises an alarm.'),
  purgeAfterHours: z.number().min(1, 'purgeAfterHours is 1–8760 hours after collection (720 = 30 days)').max(24 * 365, 'purgeAfterHours is 1–8760 hours after collection (720 = 30 days): keep personal data no longer than a year').default(720)
    .describe('Personal data (GB/T 35273): this long (hours) after a case was collected or retrieved, its applicant\'s encrypted name, phone and ID number, the ID-suffix hash and any undelivered notification are erased.'),
  helpWindow: z.string().min(1, 'helpWindow names the service window, e.g. "1" or "A3"').max(20, 'helpWindow is at most 20 characters, e.g. "1" or "A3"').default('1')
    .describe('The service window the kiosk sends applicants to when something fails, e.g. "1" or "A3".'),
  reminderHoursBefore: z.number().positive('reminderHoursBefore is more than 0 and at most 2160 hours (24 = a day before), or null for no reminder').max(24 * 90, 'reminderHoursBefore is at most 2160 hours (90 days), or null for no reminder').nullable().default(24)
    .describe('This long (hours) before a pickup credential expires, the SMS gateway gets a reminder on `…/notify` (`"kind":"reminder"`: the case, the phone and the expiry, never the code), once per case and only while the case is still ready to collect; null: no reminders. A credential issued less than this long before its expiry gets none.'),
  whenOverdue: z.enum(['expire', 'keep-valid'], { error: 'whenOverdue is "expire" or "keep-valid"' }).default('expire')
    .describe('What happens when a credential\'s time is up: "expire" (the code stops working, the case is overdue and the kiosk sends the applicant to the window) or "keep-valid" (the case is overdue for the clerks, but the code keeps opening the doors until a clerk takes the items back).'),
  resendsPerCasePerDay: z.number().int().min(0, 'resendsPerCasePerDay is 0–10 (3 suits a hall; 0: no resend at the kiosk)').max(10, 'resendsPerCasePerDay is 0–10 (3 suits a hall; 0: no resend at the kiosk)').default(3)
    .describe('"没收到取件码？" at the kiosk: how many new codes one case may have sent to its phone in 24 hours; 0: the kiosk does not offer it (the window re-sends codes).'),
  resendsPerHour: z.number().int().min(1, 'resendsPerHour is 1–1000 (30 suits a hall)').max(1000, 'resendsPerHour is 1–1000 (30 suits a hall)').default(30)
    .describe('New codes the kiosk sends in an hour for the whole cabinet ("没收到取件码？"); past it the kiosk asks the applicant to wait or go to the window. Wrong case number and ID suffix pairs count as failed attempts in the attempt guard besides.'),
}).strict();
export type PickupPolicy = z.infer<typeof policySchema>;

export const mqttSchema = z.object({
  url: z.string().regex(/^mqtts?:\/\/[^/\s]+/, 'MQTT_URL is mqtt://host:port or mqtts://host:port, e.g. "mqtt://ops.example:1883"')
    .describe('Central ops\' broker, mqtt://host:port or mqtts://host:port (MQTT_URL overrides it).'),
  username: z.string().min(1).optional().describe('The cabinet\'s broker login (MQTT_USERNAME overrides it).'),
  password: z.string().min(1).optional().describe('Its password (MQTT_PASSWORD overrides it).'),
  tls: z.object({
    ca: z.string().min(1).optional().describe('The broker\'s CA certificate (PEM file).'),
    cert: z.string().min(1).optional().describe('The cabinet\'s client certificate (PEM file).'),
    key: z.string().min(1).optional().describe('The client certificate\'s private key (PEM file).'),
  }).strict().optional().describe('Files for TLS with a client certificate per cabinet (mqtts).'),
  keepaliveSeconds: z.number().int().min(5, 'keepaliveSeconds is 5–3600 (30 suits most brokers)').max(3600, 'keepaliveSeconds is 5–3600 (30 suits most brokers)').default(30)
    .describe('MQTT keepalive (s): a cabinet gone silent is taken offline by the broker (its last will) after about 1.5 times this long.'),
  reconnect: z.object({
    minMs: z.number().int().min(10, 'reconnect.minMs is at least 10 (500 suits most sites)').default(500).describe('The first reconnect delay (ms).'),
    maxMs: z.number().int().min(100, 'reconnect.maxMs is at least 100 (30000 suits most sites)').default(30_000).describe('The longest reconnect delay (ms).'),
  }).default({ minMs: 500, maxMs: 30_000 }).describe('Jittered exponential reconnect delay.'),
  commandKeyFile: z.string().min(1).optional()
    .describe('The file of the HMAC key ops sign commands with (hex, 32 bytes); absent: `<dataDir>/command.key`, made at first start when missing.'),
  window: z.number().int().min(1, 'window is 1–65000 publishes in flight (1000 suits most brokers)').max(65_000, 'window is 1–65000 publishes in flight (1000 suits most brokers)').default(1000)
    .describe('QoS-1 publishes in flight at once while draining the outbox.'),
  keepSentDays: z.number().min(7, 'the contract keeps sent events at least 7 days').default(8)
    .describe('Sent events are kept this long (days) for `replay`; at least 7.'),
  maxUnsent: z.number().int().min(1000, 'maxUnsent is at least 1000 events (2000000 ≈ weeks offline)').default(2_000_000)
    .describe('Unsent events kept at the most; beyond it the oldest are dropped and an `outbox.overflow` event says which.'),
}).strict();
export type MqttConfig = z.infer<typeof mqttSchema>;

/** Printable text without control characters: a login goes into an HTTP header. */
const loginText = (field: string, max: number) => z.string({ error: `camera.${field} is text` })
  .min(1, `camera.${field} is empty: give it, or leave it out for a camera that asks for no login`)
  .max(max, `camera.${field} is at most ${max} characters`)
  .regex(/^[^\u0000-\u001f\u007f]+$/, `camera.${field} may not contain control characters (a line break, a tab)`);

const snapshotUrlExample = 'e.g. "http://192.168.1.64/onvif-http/snapshot"';

/** The camera over the doors: a still per door open and close (CONTRACT §9). Never echoes what was given: it may hold a password. */
export const cameraSchema = z.object({
  snapshotUrl: z.string({ error: `camera.snapshotUrl is the camera's snapshot URL, ${snapshotUrlExample}` }).superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `camera.snapshotUrl is not a URL: give the camera's snapshot URL (its ONVIF GetSnapshotUri), ${snapshotUrlExample}` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `camera.snapshotUrl must be http:// or https:// (the camera's snapshot URL, ${snapshotUrlExample})` });
    else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'camera.snapshotUrl carries a login: put it in camera.username and camera.password instead (a URL is shown in logs, a password never)' });
  }).describe('The camera\'s snapshot URL (an ONVIF camera\'s GetSnapshotUri, http or https), answering one JPEG per GET, e.g. "http://192.168.1.64/onvif-http/snapshot". No login in the URL: use `username` and `password`.'),
  username: loginText('username', 64).regex(/^[^:]+$/, 'camera.username may not contain ":" (HTTP sign-in puts it between the name and the password)').optional().describe('The camera\'s login name, when it asks for one (HTTP Digest, MD5 or SHA-256, or Basic, as its 401 says).'),
  password: loginText('password', 128).optional().describe('Its password: a secret, never logged, shown by the API or put in an event. Keep the config file 0600.'),
  required: z.boolean({ error: 'camera.required is true or false' }).default(false)
    .describe('true: while the camera does not answer (or has not answered since start), the kiosk refuses service (`out-of-service`, cause `camera-unavailable`) and sends applicants to the window. false: doors work on and the missing stills are noted.'),
  retentionDays: z.number({ error: 'camera.retentionDays is a number of days, 1–365 (30 suits a hall)' }).int('camera.retentionDays is a whole number of days, 1–365').min(1, 'camera.retentionDays is 1–365 (30 suits a hall)').max(365, 'camera.retentionDays is 1–365: keep stills no longer than a year').default(30)
    .describe('Stills (and notes of failed captures) are kept this many days after the day they were taken, then deleted by a sweep every hour.'),
  timeoutMs: z.number({ error: 'camera.timeoutMs is a number of ms, 500–30000 (3000 suits a LAN camera)' }).int('camera.timeoutMs is a whole number of ms').min(500, 'camera.timeoutMs is 500–30000 ms (3000 suits a LAN camera)').max(30_000, 'camera.timeoutMs is 500–30000 ms (3000 suits a LAN camera)').default(3000)
    .describe('One capture (the sign-in round trip and the image included) gives up after this long (ms), and counts as the camera not answering.'),
}).strict().superRefine((camera, ctx) => {
  if ((camera.username === undefined) !== (camera.password === undefined)) {
    const missing = camera.username === undefined ? 'username' : 'password';
    ctx.addIssue({ code: 'custom', path: [missing], message: `camera.${missing} is missing: give both username and password, or neither for a camera that asks for no login` });
  }
});
export type CameraConfig = z.infer<typeof cameraSchema>;

const pemFile = (what: string, example: string) => z.string({ error: `give the path of ${what} (PEM), e.g. "${example}"` }).min(1, `give the path of ${what} (PEM), e.g. "${example}"`);

/** HTTPS on `api.port`: the certificate files and the two plain-HTTP listeners that remain (./serving-certificate.ts checks the files at start). */
export const apiTlsSchema = z.object({
  cert: pemFile('the server certificate', '/var/lib/govlocker/tls/cert.pem')
    .describe('The server certificate (PEM; a chain file with the intermediates after it is fine). A relative path is taken from the config file\'s directory. `govlocker tls self-signed` makes one; a renewed file is picked up without a restart.'),
  key: pemFile('the certificate\'s private key', '/var/lib/govlocker/tls/key.pem')
    .describe('The certificate\'s private key (PEM, unencrypted; readable by the cabinet\'s user only). A relative path is taken from the config file\'s directory.'),
  redirectPort: port.nullable().default(null)
    .describe('A plain-HTTP port on `api.host` that answers every request with a redirect (308) to the same path on https and `api.port`, and serves nothing else; null: none.'),
  kioskPort: port.nullable().default(8081)
    .describe('The cabinet\'s own screen: the kiosk page and the kiosk endpoints over plain HTTP on 127.0.0.1 (loopback only, so it needs no certificate; `api.kioskClients` still applies); null: none (the screen then uses https and must trust the certificate).'),
}).strict();
export type ApiTlsConfig = z.infer<typeof apiTlsSchema>;

export const apiSchema = z.object({
  host: z.string().default('0.0.0.0').describe('The address the admin API and the pages listen on ("127.0.0.1": this PC only).'),
  port: port.default(8080).describe('Their TCP port (GOVLOCKER_API_PORT overrides it; 0: a free one). HTTPS when `api.tls` is set, else plain HTTP.'),
  kioskClients: z.array(z.string().min(1)).default(['127.0.0.1', '::1', '::ffff:127.0.0.1'])
    .describe('Who may use the kiosk endpoints (no sign-in): the cabinet\'s own screen, on loopback by default. "*" lets any address in (only behind a network that only the kiosk reaches).'),
  tls: apiTlsSchema.optional()
    .describe('HTTPS for the admin API, the pages and the streams on `api.port`, from these certificate files; absent: plain HTTP (bind `api.host` to 127.0.0.1 then, so no staff secret crosses the LAN in clear text).'),
}).strict().superRefine((api, ctx) => {
  if (!api.tls) return;
  // Port 0 picks a free port, so only fixed ports can collide.
  const taken = [{ name: 'port', port: api.port }];
  for (const name of ['redirectPort', 'kioskPort'] as const) {
    const chosen = api.tls[name];
    if (chosen === null || chosen === 0) continue;
    const clash = taken.find((t) => t.port === chosen);
    if (clash) ctx.addIssue({ code: 'custom', path: ['tls', name], message: `${name} ${chosen} is ${clash.name === 'port' ? 'api.port' : `api.tls.${clash.name}`} already: each listener needs a port of its own (null: no ${name === 'kioskPort' ? 'plain kiosk listener' : 'redirect'})` });
    taken.push({ name, port: chosen });
  }
});

export const configSchema = z
  .object({
    cabinetId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'a cabinet id is 1–32 letters, digits, "-" or "_", e.g. "DEMO-01"').default('DEMO-01')
      .describe('The cabinet\'s id, in its MQTT topics, events and pages (GOVLOCKER_CABINET_ID overrides it).'),
    dataDir: z.string().min(1).default('./data')
      .describe('The directory of the database and the keys (GOVLOCKER_DATA_DIR overrides it); made 0700, its files 0600.'),
    api: apiSchema.default(apiSchema.parse({})).describe('The admin API, the pages and the kiosk endpoints.'),
    hardware: hardwareSchema.default(hardwareSchema.parse({})).describe('The board that drives the locks and reads the door switches, and the timing of the doors.'),
    scanner: scannerSchema.nullable().default({ transport: { kind: 'tcp', host: '127.0.0.1', port: 3031 } })
      .describe('The cabinet\'s barcode/QR scanner (one line per scan); null: none.'),
    idReader: idReaderSchema.optional().describe('The resident ID-card reader (二代证 SAM module); absent: none, the applicant types the ID suffix.'),
    compartments: z.array(compartmentConfigSchema).min(1, 'a cabinet needs at least one compartment').optional()
      .describe('Every compartment with its lock and door switch; absent: the demo cabinet (24 compartments A01…C08 on the driver\'s demo wiring).'),
    policy: policySchema.default(policySchema.parse({})).describe('The pickup rules: credentials, the attempt guard, rate limits, personal data.'),
    staff: staffSchema.default(staffSchema.parse({})).describe('People who sign in with a name and a password (the clerk station): their sessions, and the lock on a name after wrong passwords.'),
    mqtt: mqttSchema.nullable().default(null).describe('Central ops over MQTT; null (no MQTT_URL): not connected.'),
    camera: cameraSchema.nullable().default(null).describe('The camera over the doors (CONTRACT §9): a still at every door open and close, referenced from the event\'s `data.snapshot` and shown to ops by GET /api/v1/snapshots/:id; null: no camera.'),
  })
  .strict();

export type CabinetConfigInput = z.input<typeof configSchema>;
export type CabinetConfig = Omit<z.infer<typeof configSchema>, 'compartments'> & { compartments: CompartmentConfig[] };
