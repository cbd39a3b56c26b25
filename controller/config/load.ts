import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { compartmentProblems, compartmentsFor } from './driver-checks.ts';
import { unoDemoCompartments } from './demo-cabinet.ts';
import type { LockboardProtocol } from './lockboard-schema.ts';
import { configSchema, type CabinetConfig } from './schema.ts';

export interface ConfigProblem {
  /** Where: a dotted path in the file (`compartments.3.size`) or the environment variable's name. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** Start-up stops with every problem listed, never just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[], readonly source: string) {
    super(`${source}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The environment variables of the contract (§1); each overrides the file. */
const ENV_PORTS = {
  GOVLOCKER_API_PORT: ['api', 'port'],
  GOVLOCKER_FIRMATA_PORT: ['hardware', 'transport', 'port'],
  GOVLOCKER_SCANNER_PORT: ['scanner', 'transport', 'port'],
} as const;

export function zodIssuesToProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

function setPath(root: Json, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    node[key] = { ...asObject(node[key]) };
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function applyEnvironment(raw: Json, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Json {
  const out: Json = structuredClone(raw);
  if (env.GOVLOCKER_CABINET_ID) out.cabinetId = env.GOVLOCKER_CABINET_ID;
  if (env.GOVLOCKER_DATA_DIR) out.dataDir = env.GOVLOCKER_DATA_DIR;
  if (env.MQTT_URL) out.mqtt = { ...asObject(out.mqtt), url: env.MQTT_URL };
  if (env.MQTT_USERNAME) out.mqtt = { ...asObject(out.mqtt), username: env.MQTT_USERNAME };
  if (env.MQTT_PASSWORD) out.mqtt = { ...asObject(out.mqtt), password: env.MQTT_PASSWORD };
  for (const [name, path] of Object.entries(ENV_PORTS)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const port = Number(text);
    if (!/^\d+$/.test(text) || port > 65535) {
      problems.push({ path: name, message: `"${text}" is not a port: use a whole number 1–65535, or 0 to pick a free one` });
      continue;
    }
    // A port only makes sense for a TCP transport; the file may say serial, and then the variable is refused.
    if (path[0] !== 'api') {
      const section = asObject(out[path[0]]);
      const transport = asObject(section.transport);
      if (out[path[0]] === null) continue;
      // A lock-board cabinet has no Firmata board: the variable is for the simulator's Firmata port only.
      if (path[0] === 'hardware' && section.driver === 'lockboard') continue;
      if (transport.kind !== undefined && transport.kind !== 'tcp') {
        problems.push({ path: name, message: `${path[0]}.transport is "${String(transport.kind)}", so a TCP port does not apply: unset ${name} or switch the transport to tcp` });
        continue;
      }
      if (path[0] === 'hardware' && section.driver === undefined) setPath(out, ['hardware', 'driver'], 'firmata');
      setPath(out, [path[0], 'transport', 'kind'], 'tcp');
    }
    setPath(out, path, port);
  }
  return out;
}

export interface LoadOptions {
  /**
   * Run on emulated RS-485 lock boards of this protocol (`govlocker start --board`): the file's Firmata hardware
   * and compartments give way to the demo cabinet on that board; a file whose bus already speaks it is kept.
   */
  readonly board?: LockboardProtocol;
  /**
   * `govlocker start --firmata genuine`: the simulator runs the real StandardFirmata on an emulated Uno, so a
   * file without compartments gets the Uno demo cabinet (8 compartments) instead of the Mega's 24.
   */
  readonly firmata?: 'emulated' | 'genuine';
  /** The config file's directory: relative certificate paths (`api.tls`) are taken from it; absent: the working directory. */
  readonly configDir?: string;
}

/** The file as given, on the genuine StandardFirmata's Uno. */
function onGenuineFirmata(raw: Json, problems: ConfigProblem[]): Json {
  if (asObject(raw.hardware).driver === 'lockboard') {
    problems.push({ path: 'hardware.driver', message: '--firmata genuine runs a Firmata board, but this file drives lock boards: leave --firmata out' });
    return raw;
  }
  return raw.compartments === undefined ? { ...raw, compartments: unoDemoCompartments() } : raw;
}

/** The file as given, turned to a lock-board cabinet of `protocol` (its timing fields kept). */
function onLockBoards(raw: Json, protocol: LockboardProtocol, problems: ConfigProblem[]): Json {
  const hardware = asObject(raw.hardware);
  if (hardware.driver === 'lockboard') {
    const given = asObject(hardware.bus).protocol;
    if (given !== protocol) problems.push({ path: 'hardware.bus.protocol', message: `--board ${protocol} asks for ${protocol} boards, but this file's bus is ${JSON.stringify(given)}: leave --board out (the file's bus is emulated) or name the same protocol` });
    return raw;
  }
  const { transport: _firmataTransport, driver: _driver, ...timing } = hardware;
  const { compartments: _firmataCompartments, ...rest } = raw;
  return { ...rest, hardware: { ...timing, driver: 'lockboard', bus: { protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: 0 } } } };
}

/** Parses a config object (already read), applying the environment; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'configuration', options: LoadOptions = {}): CabinetConfig {
  const problems: ConfigProblem[] = [];
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError([{ path: '(root)', message: 'the configuration must be a JSON object, e.g. {"cabinetId":"DEMO-01"}' }], source);
  }
  if (options.board && options.firmata === 'genuine') problems.push({ path: '(options)', message: '--board and --firmata genuine name two different boards: choose one' });
  const given = options.board ? onLockBoards(asObject(raw), options.board, problems) : options.firmata === 'genuine' ? onGenuineFirmata(asObject(raw), problems) : asObject(raw);
  const withEnv = applyEnvironment(given, env, problems);
  const parsed = configSchema.safeParse(withEnv);
  if (!parsed.success) problems.push(...zodIssuesToProblems(parsed.error));
  // Checked on the file as given, so they are listed with the schema's problems, not after them.
  problems.push(...compartmentProblems(withEnv));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, source);
  const config: CabinetConfig = { ...parsed.data, api: withCertificatePaths(parsed.data.api, options.configDir), compartments: compartmentsFor(parsed.data.hardware, parsed.data.compartments) };
  const files = tlsFileProblems(config);
  if (files.length > 0) throw new ConfigError(files, source);
  return config;
}

/** `api.tls`'s files as absolute paths: relative ones are taken from the config file's directory. */
function withCertificatePaths(api: CabinetConfig['api'], configDir = process.cwd()): CabinetConfig['api'] {
  if (!api.tls) return api;
  return { ...api, tls: { ...api.tls, cert: resolve(configDir, api.tls.cert), key: resolve(configDir, api.tls.key) } };
}

/**
 * The mqtt.tls files must be readable now: the MQTT link reads them only once start-up is well under way (board
 * and scanner already open), where a missing file surfaced as a bare ENOENT naming neither the setting nor why.
 */
function tlsFileProblems(config: CabinetConfig): ConfigProblem[] {
  const tls = config.mqtt?.tls;
  if (!tls) return [];
  const what = { ca: 'the CA certificate that signed the broker\'s certificate', cert: 'this cabinet\'s client certificate', key: 'the private key of the client certificate' } as const;
  const problems: ConfigProblem[] = [];
  for (const field of ['ca', 'cert', 'key'] as const) {
    const file = tls[field];
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      const where = resolve(file) === file ? '' : ` (relative to the working directory: ${resolve(file)})`;
      problems.push({ path: `mqtt.tls.${field}`, message: `cannot read ${file}${where}: ${code} — give the path of ${what[field]} (PEM)` });
    }
  }
  return problems;
}

/** Reads the JSON config file (none: the demo cabinet) and applies the environment. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): CabinetConfig {
  if (!file) return parseConfig({}, env, options.board ? `built-in demo cabinet on ${options.board} lock boards` : options.firmata === 'genuine' ? 'built-in Uno demo cabinet' : 'built-in demo cabinet', options);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)} — check the --config path` }], file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `not valid JSON (${(error as Error).message}) — fix the syntax` }], file);
  }
  return parseConfig(raw, env, file, { configDir: dirname(resolve(file)), ...options });
}
