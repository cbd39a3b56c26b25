import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_FILE } from '../controller/cabinet.ts';
import { ConfigError, loadConfig } from '../controller/config/load.ts';
import { AuditChain } from '../controller/store/audit-chain.ts';
import type { LockboardProtocol } from '../controller/config/lockboard-schema.ts';
import { codec8a80, codecKerong } from '../firmware-bridge/lockboard/index.ts';
import { probeBus, type ProbeOptions } from '../firmware-bridge/lockboard/probe.ts';
import { boardLines, probeHeader, probeSummary } from '../firmware-bridge/lockboard/probe-report.ts';
import { PROTOCOLS } from '../firmware-bridge/lockboard/protocol.ts';
import type { TransportConfig } from '../firmware-bridge/transport.ts';
import { runController, runWholeCabinet, runSimulatorOnly } from './run.ts';
import { CommandRefusal } from './backup-common.ts';
import { demoValueProblems } from './demo-values.ts';
import { provision, provisionReport } from './provision.ts';
import { handleSignals, type Shutdown } from './shutdown.ts';

const USAGE = `govlocker — the controller of a one-window pickup cabinet

usage:
  govlocker start [--config FILE] [--board 8a80|kerong-cu | --firmata genuine]
                                              simulator + controller + admin API (what npm start runs);
                                              --board: the cabinet on emulated RS-485 lock boards;
                                              --firmata genuine: the real StandardFirmata on an emulated
                                              Uno (8 compartments; ~40 % of a core)
  govlocker provision --data DIR --cabinet ID [--admin NAME] [--config FILE] [--mqtt URL]
                                              makes a cabinet's data dir (keys, database, the first admin
                                              with a one-time password, the broker login) and writes or
                                              completes the config; prints what ops need once
  govlocker controller --config FILE          controller + admin API against the hardware the config names;
                                              refuses demo values (DEMO-01, the demo token, an unprovisioned
                                              data dir, a broker without a login)
  govlocker simulate [--config FILE] [--board 8a80|kerong-cu | --firmata genuine]
                                              the simulator alone (Firmata or a lock-board bus over TCP,
                                              scanner, control API)
  govlocker hardware probe --config FILE | --protocol 8a80|kerong-cu (--tcp HOST:PORT | --serial PATH [--baud N])
                         [--locked-when set|clear] [--boards 1,2,…]
                                              asks every lock-board address on a bus for its status and
                                              prints who answers (channels, door contacts, item sensors);
                                              opens nothing. For commissioning: stop the controller first
  govlocker simulate --fleet N --mqtt URL [--rate EPS] [--prefix SIM] [--gap-every N] [--cabinet-password P]
                                              N light cabinets on a broker (status, last will, events at
                                              EPS per cabinet, default 1), for the fleet monitor; each logs
                                              in as its id with P where the broker has per-cabinet accounts
  govlocker fleet --mqtt URL [--port 8095] [--host 127.0.0.1] [--keys DIR]
                                              central ops' fleet monitor: a live page of every cabinet on the
                                              broker; --keys holds <cabinetId>.key files to sign replays
  govlocker users add --name NAME --role clerk|ops|admin|integration|courier [--items TYPE,…] [--password P] [--must-change] [--data DIR]
                                              with --password: a person who signs in with it (name and
                                              password, the clerk station; "-" reads it from stdin);
                                              without: a machine's bearer token, printed once; a courier
                                              needs --items, the item types they may load (seal,invoice,…)
  govlocker users list [--data DIR]
  govlocker audit verify --data DIR           checks the audit hash chain offline (exit 1 when broken)
  govlocker backup (--data DIR | --config FILE) --to FILE [--force] [--passphrase-file FILE]
                                              a consistent copy of the database (while the cabinet runs) and
                                              its keys in one file, mode 0600 (encrypted with --passphrase-file)
  govlocker restore --from FILE --data DIR [--expect-cabinet ID] [--passphrase-file FILE]
                                              a backup into a new or empty data dir, checked (integrity,
                                              schema version, audit chain, keys) before it is put in place
  govlocker tls self-signed --data DIR [--host NAME …] [--days N] [--force]
                                              a first HTTPS certificate for api.tls: DIR/tls/cert.pem and
                                              key.pem (EC P-256, for this PC's name, localhost and 127.0.0.1
                                              unless --host names others; 365 days); prints its SHA-256
  govlocker cmd NAME --mqtt URL --cabinet ID --key FILE [--arg k=v …] [--args JSON] [--timeout MS]
                                              signs and sends an ops command (open, disable, enable, status,
                                              retrieve, replay) and prints the cabinet's reply
  govlocker bench                             the benchmarks, one JSON object per line

environment: GOVLOCKER_DATA_DIR, GOVLOCKER_API_PORT, GOVLOCKER_SIM_PORT, GOVLOCKER_FIRMATA_PORT,
GOVLOCKER_SCANNER_PORT, GOVLOCKER_CABINET_ID, GOVLOCKER_ADMIN_TOKEN, GOVLOCKER_LOG_LEVEL (see README)

SIGINT (Ctrl-C) or SIGTERM stops any command in every state, starting and reconnecting included; a second one
exits at once.`;

function fail(message: string): never {
  process.stderr.write(`govlocker: ${message}\n`);
  process.exit(2);
}

function dataDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.GOVLOCKER_DATA_DIR ?? './data');
}

/** Commands that run until stopped, or wait on the network: they stop on SIGINT/SIGTERM in every state. */
const LONG_RUNNING = new Set(['start', 'controller', 'simulate', 'fleet', 'cmd', 'bench']);

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // Before anything starts: a signal while starting stops what has started so far. A one-shot command cut
  // short exits with 128 + the signal's number, as a shell reports it; a service stopped by it exits 0.
  const shutdown = command && LONG_RUNNING.has(command)
    ? handleSignals({ name: `govlocker ${command}`, exitCode: command === 'cmd' || command === 'bench' ? 'interrupted' : 0 })
    : null;
  try {
    switch (command) {
      case 'start':
      case 'controller':
      case 'simulate': {
        if (command === 'simulate' && rest.some((a) => a === '--fleet' || a.startsWith('--fleet='))) return await simulateFleetCommand(rest, shutdown!);
        const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, board: { type: 'string' }, firmata: { type: 'string' } }, strict: true });
        if (values.firmata !== undefined && values.firmata !== 'emulated' && values.firmata !== 'genuine') fail(`--firmata is "emulated" (the default) or "genuine" (the real StandardFirmata on an emulated Uno), not ${JSON.stringify(values.firmata)}`);
        if (command === 'controller' && values.firmata) fail('--firmata chooses the simulated board: use it with "govlocker start" or "simulate"');
        const firmata = values.firmata as 'emulated' | 'genuine' | undefined;
        if (command === 'controller' && !values.config) fail('controller needs --config FILE (the hardware to drive); try "govlocker start" for the simulator');
        if (command === 'controller' && values.board) fail('--board runs emulated lock boards: use it with "govlocker start" or "simulate"; the controller drives what its --config names');
        const config = loadConfig(values.config, process.env, { board: values.board === undefined ? undefined : protocolArg('--board', values.board), firmata });
        if (command === 'start') await runWholeCabinet(config, shutdown!, { firmata });
        else if (command === 'controller') {
          const demo = await demoValueProblems(config, process.env);
          if (demo.length > 0) throw new ConfigError(demo, 'a cabinet in service (govlocker controller) may not run on demo values');
          await runController(config, shutdown!);
        }
        else await runSimulatorOnly(config, shutdown!, { firmata });
        return;
      }
      case 'provision':
        return await provisionCommand(rest);
      case 'users':
        return await (await import('./users.ts')).usersCommand(rest);
      case 'hardware':
        return await hardwareCommand(rest);
      case 'audit':
        return auditCommand(rest);
      case 'backup':
        return await (await import('./backup.ts')).backupCommand(rest);
      case 'restore':
        return (await import('./restore.ts')).restoreCommand(rest);
      case 'tls':
        return (await import('./tls.ts')).tlsCommand(rest);
      case 'cmd':
        return await cmdCommand(rest);
      case 'fleet':
        return await fleetCommand(rest, shutdown!);
      case 'bench': {
        const { runBenchmarks } = await import('../bench/bench.ts');
        await runBenchmarks();
        return;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return;
      default:
        fail(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    // A start cut short by a signal: the shutdown stops what had started and exits.
    if (shutdown?.stopping) return await shutdown.exited();
    // A start that failed: stop what had started (ports, broker connections), then say why.
    await shutdown?.stopStarted();
    if (error instanceof ConfigError) {
      process.stderr.write(`govlocker: the configuration is not usable — ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) fail(`${error.message}\n\n${USAGE}`);
    throw error;
  }
}

function protocolArg(flag: string, text: string): LockboardProtocol {
  if (!(PROTOCOLS as readonly string[]).includes(text)) fail(`${flag} is ${PROTOCOLS.map((p) => `"${p}"`).join(' or ')}, not "${text}"`);
  return text as LockboardProtocol;
}

/** `govlocker hardware probe`: every board address of a lock-board bus asked for its status; nothing opened. */
async function hardwareCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const usage = 'usage: govlocker hardware probe --config FILE | --protocol 8a80|kerong-cu (--tcp HOST:PORT | --serial PATH [--baud N]) [--locked-when set|clear] [--boards 1,2,…]';
  if (sub !== 'probe') fail(usage);
  const { values } = parseArgs({
    args: rest, strict: true,
    options: { config: { type: 'string' }, protocol: { type: 'string' }, tcp: { type: 'string' }, serial: { type: 'string' }, baud: { type: 'string' }, 'locked-when': { type: 'string' }, boards: { type: 'string' } },
  });
  const lockedWhen = values['locked-when'];
  if (lockedWhen !== undefined && lockedWhen !== 'set' && lockedWhen !== 'clear') fail(`--locked-when is "set" or "clear", not "${lockedWhen}"`);
  let bus: ProbeOptions['bus'];
  let configured: { id: string; board: number; channel: number }[] = [];
  if (values.config) {
    if (values.protocol || values.tcp || values.serial || values.baud) fail(`--config names the bus already: leave out --protocol, --tcp, --serial and --baud\n${usage}`);
    const config = loadConfig(values.config);
    if (config.hardware.driver !== 'lockboard') fail(`${values.config} has hardware.driver "firmata": the probe is for RS-485 lock boards ("driver": "lockboard")`);
    bus = config.hardware.bus;
    configured = config.compartments.map((c) => ({ id: c.id, board: c.board!, channel: c.channel! }));
  } else {
    if (!values.protocol) fail(`give --config FILE, or --protocol with --tcp or --serial\n${usage}`);
    const protocol = protocolArg('--protocol', values.protocol);
    if ((values.tcp === undefined) === (values.serial === undefined)) fail(`give one of --tcp HOST:PORT (a serial server) or --serial PATH (an RS-485 adapter)\n${usage}`);
    let transport: TransportConfig;
    if (values.tcp !== undefined) {
      const m = /^(.+):(\d{1,5})$/.exec(values.tcp);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(`--tcp is HOST:PORT, e.g. 192.168.1.60:4001, not "${values.tcp}"`);
      transport = { kind: 'tcp', host: m[1]!, port: Number(m[2]) };
    } else {
      const line = protocol === '8a80' ? codec8a80.LINE : codecKerong.LINE;
      transport = { kind: 'serial', path: values.serial!, baudRate: wholeNumber('--baud', values.baud, line.baudRate, 1200, 921_600) };
    }
    bus = { protocol, transport };
  }
  if (lockedWhen) bus = { ...bus, lockedWhen };
  const boards = values.boards?.split(',').map((b) => wholeNumber('--boards', b.trim(), 0, 0, 254));
  const boardsOf = (board: number) => (configured.length ? configured.filter((c) => c.board === board).map((c) => c.channel) : undefined);
  const say = (lines: string[]) => process.stdout.write(lines.map((l) => l + '\n').join(''));
  let report;
  try {
    report = await probeBus({
      bus, boards,
      onStart: (plan) => say([probeHeader(plan.protocol, plan.transport, plan.line, plan.boards)]),
      onBoard: (result) => say(boardLines(result, boardsOf(result.board))),
    });
  } catch (error) {
    fail(`the probe could not use the bus: ${(error as Error).message}`);
  }
  say(probeSummary(report, {
    lockedWhen: bus.lockedWhen ?? 'set',
    channelsOneToEightIn: bus.protocol === '8a80' ? bus.channelsOneToEightIn ?? 'last-byte' : undefined,
    configured,
  }));
  if (!report.boards.some((b) => b.answered)) process.exitCode = 1;
}

async function provisionCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { data: { type: 'string' }, cabinet: { type: 'string' }, admin: { type: 'string' }, config: { type: 'string' }, mqtt: { type: 'string' } } });
  if (!values.data) fail('provision needs --data DIR: the new cabinet\'s data directory (e.g. /var/lib/govlocker), new or empty');
  if (!values.cabinet) fail('provision needs --cabinet ID: the id central ops registered this cabinet under (e.g. BY-HALL-03)');
  try {
    const done = await provision({ dataDir: values.data, cabinetId: values.cabinet, admin: values.admin ?? 'admin', config: values.config, mqttUrl: values.mqtt });
    process.stdout.write(provisionReport(done, values.mqtt));
  } catch (error) {
    if (error instanceof CommandRefusal) fail(error.message);
    throw error;
  }
}

async function cmdCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { mqtt: { type: 'string' }, cabinet: { type: 'string' }, key: { type: 'string' }, arg: { type: 'string', multiple: true }, args: { type: 'string' }, timeout: { type: 'string' } },
  });
  const name = positionals[0];
  if (!name) fail('usage: govlocker cmd NAME --mqtt URL --cabinet ID --key FILE [--arg k=v …]');
  const mqttUrl = values.mqtt ?? process.env.MQTT_URL;
  if (!mqttUrl) fail('--mqtt URL (or MQTT_URL) names the broker, e.g. mqtt://127.0.0.1:1883');
  const cabinetId = values.cabinet ?? process.env.GOVLOCKER_CABINET_ID;
  if (!cabinetId) fail('--cabinet ID names the cabinet, e.g. DEMO-01');
  if (!values.key) fail("--key FILE is the cabinet's command key file (command.key in its data dir)");
  let parsedArgs: Record<string, unknown> = {};
  if (values.args) {
    try {
      parsedArgs = JSON.parse(values.args) as Record<string, unknown>;
    } catch {
      fail('--args is a JSON object, e.g. \'{"compartment":"A03","reason":"stuck applicant"}\'');
    }
  }
  for (const pair of values.arg ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) fail(`--arg takes key=value, not "${pair}"`);
    const value = pair.slice(eq + 1);
    parsedArgs[pair.slice(0, eq)] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  const { sendCommand } = await import('./cmd.ts');
  const reply = await sendCommand({ name, mqttUrl, cabinetId, keyFile: values.key, args: parsedArgs, timeoutMs: Number(values.timeout ?? 10_000) });
  process.stdout.write(JSON.stringify(reply) + '\n');
  if (!reply.ok) process.exitCode = 1;
}

/** A whole number from the command line, or a clear refusal. */
function wholeNumber(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) fail(`${flag} is a whole number from ${min} to ${max}, not "${text}"`);
  return Number(text);
}

function mqttUrlOf(flag: string | undefined, what: string): string {
  const url = flag ?? process.env.MQTT_URL;
  if (!url) fail(`${what} needs --mqtt URL (or MQTT_URL), the broker the cabinets report to, e.g. mqtt://127.0.0.1:1883`);
  return url;
}

async function fleetCommand(args: string[], shutdown: Shutdown): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { mqtt: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, keys: { type: 'string' } } });
  const mqttUrl = mqttUrlOf(values.mqtt, 'fleet');
  const { startFleetMonitor, DEFAULT_FLEET_PORT } = await import('../admin-api/fleet/monitor.ts');
  const { redactMqttUrl } = await import('../controller/mqtt/mqtt-link.ts');
  const port = wholeNumber('--port', values.port, DEFAULT_FLEET_PORT, 0, 65535);
  let monitor;
  try {
    monitor = await shutdown.track(startFleetMonitor({ mqttUrl, port, host: values.host, keysDir: values.keys }), (m) => m.stop());
  } catch (error) {
    if (shutdown.stopping) return await shutdown.exited();
    fail((error as Error).message);
  }
  process.stdout.write(`\n  fleet monitor  ${monitor.url}\n  broker         ${redactMqttUrl(mqttUrl)} (govlocker/v1/+/status, …/events)\n  replays        ${values.keys ? `signed with the keys in ${values.keys}` : 'off (no --keys DIR)'}\n\n`);
  monitor.ready(5000).catch((error: Error) => process.stderr.write(`govlocker fleet: ${error.message}; still trying\n`));
}

async function simulateFleetCommand(args: string[], shutdown: Shutdown): Promise<void> {
  const { values } = parseArgs({
    args, strict: true,
    options: { fleet: { type: 'string' }, mqtt: { type: 'string' }, rate: { type: 'string' }, prefix: { type: 'string' }, 'gap-every': { type: 'string' }, 'cabinet-password': { type: 'string' } },
  });
  const count = wholeNumber('--fleet', values.fleet, 0, 1, 9999);
  const mqttUrl = mqttUrlOf(values.mqtt, 'simulate --fleet');
  const rate = values.rate === undefined ? 1 : Number(values.rate);
  if (!(rate >= 0) || !Number.isFinite(rate)) fail(`--rate is events per second per cabinet (0 or more, e.g. 0.5), not "${values.rate}"`);
  const gapEvery = values['gap-every'] === undefined ? undefined : wholeNumber('--gap-every', values['gap-every'], 0, 1, 1_000_000);
  const password = values['cabinet-password'];
  if (password === '') fail('--cabinet-password is the password every simulated cabinet logs in with (user name = its id)');
  const { runFleet } = await import('../simulator/fleet.ts');
  const { redactMqttUrl } = await import('../controller/mqtt/mqtt-link.ts');
  const say = (message: string) => process.stderr.write(`govlocker simulate: ${message}\n`);
  let fleet;
  try {
    fleet = await shutdown.track(runFleet({
      mqttUrl, count, prefix: values.prefix, eventsPerSecond: rate, gapEvery,
      cabinetPassword: password === undefined ? undefined : () => password,
      signal: shutdown.signal, onNotice: say,
    }), (f) => f.stop());
  } catch (error) {
    if (shutdown.stopping) return await shutdown.exited();
    fail((error as Error).message);
  }
  const ids = fleet.cabinets.map((c) => c.id);
  process.stdout.write(`\n  simulated fleet  ${count} cabinets (${ids[0]} … ${ids.at(-1)}) on ${redactMqttUrl(mqttUrl)}\n  events           ${rate} per second per cabinet${gapEvery ? `, one seq skipped every ${gapEvery}` : ''}\n\n`);
}

function auditCommand(args: string[]): void {
  const [sub, ...rest] = args;
  if (sub !== 'verify') fail('usage: govlocker audit verify --data DIR');
  const { values } = parseArgs({ args: rest, options: { data: { type: 'string' } }, strict: true });
  const file = join(dataDir(values.data), DATABASE_FILE);
  if (!existsSync(file)) fail(`no database at ${file}: pass the cabinet's data directory with --data`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const verdict = new AuditChain(db).verify();
    process.stdout.write(JSON.stringify(verdict) + '\n');
    if (!verdict.ok) process.exitCode = 1;
  } finally {
    db.close();
  }
}

