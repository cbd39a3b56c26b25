import { codec8a80, codecKerong } from '../../firmware-bridge/lockboard/index.ts';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { demoCompartments, demoLockboardCompartments } from './demo-cabinet.ts';
import type { ConfigProblem } from './load.ts';
import type { CompartmentConfig, CompartmentEntry, HardwareConfig } from './schema.ts';

// The compartments against the driver that drives them: Firmata compartments name pins (`lockChannel`,
// `doorSensor`), lock-board compartments a board and a channel, checked against the bus's protocol and its
// ranges. These run on the file as given (loose), so they add their problems to the schema's, all at once.

type Loose = Record<string, unknown>;
const asObject = (v: unknown): Loose => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});
const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Every problem of the compartments for the driver the (environment-applied) file names. */
export function compartmentProblems(raw: Loose): ConfigProblem[] {
  if (!Array.isArray(raw.compartments)) return [];
  const compartments = raw.compartments.map(asObject);
  const hardware = asObject(raw.hardware);
  const driver = hardware.driver ?? 'firmata';
  const problems = duplicates(compartments, 'id', (v) => `id ${JSON.stringify(v)}`);
  if (driver === 'firmata') problems.push(...firmataProblems(compartments));
  if (driver === 'lockboard') problems.push(...lockboardProblems(compartments, asObject(hardware.bus)));
  return problems;
}

function firmataProblems(compartments: readonly Loose[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  compartments.forEach((c, i) => {
    for (const key of ['board', 'channel'] as const) {
      if (c[key] !== undefined) problems.push({ path: `compartments.${i}.${key}`, message: `${key} addresses a lock board, but hardware.driver is "firmata": a Firmata compartment has lockChannel and doorSensor (this file mixes drivers' fields)` });
    }
    if (c.lockChannel === undefined) problems.push({ path: `compartments.${i}.lockChannel`, message: 'lockChannel is missing: the Firmata output pin of this compartment\'s lock relay' });
    if (c.doorSensor === undefined) problems.push({ path: `compartments.${i}.doorSensor`, message: 'doorSensor is missing: the Firmata input pin of this compartment\'s door switch' });
  });
  problems.push(...duplicates(compartments, 'lockChannel', (v) => `lockChannel ${JSON.stringify(v)}`), ...duplicates(compartments, 'doorSensor', (v) => `doorSensor ${JSON.stringify(v)}`));
  // On a Firmata board locks and sensors share one pin space: one pin cannot be both.
  const relays = new Map<unknown, number>();
  compartments.forEach((c, i) => {
    if (c.lockChannel !== undefined && !relays.has(c.lockChannel)) relays.set(c.lockChannel, i);
  });
  compartments.forEach((c, i) => {
    const other = c.doorSensor === undefined ? undefined : relays.get(c.doorSensor);
    if (other !== undefined) problems.push({ path: `compartments.${i}.doorSensor`, message: `pin ${String(c.doorSensor)} is the lock channel of compartments.${other}: a pin is either a relay output or a door input` });
  });
  return problems;
}

function lockboardProblems(compartments: readonly Loose[], bus: Loose): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const parse = lockParser(bus);
  const taken = new Map<string, number>();
  compartments.forEach((c, i) => {
    for (const key of ['lockChannel', 'doorSensor'] as const) {
      if (c[key] !== undefined) problems.push({ path: `compartments.${i}.${key}`, message: `${key} is a Firmata pin, but hardware.driver is "lockboard": a lock-board compartment is { "board", "channel" } (this file mixes drivers' fields)` });
    }
    if (c.board === undefined) problems.push({ path: `compartments.${i}.board`, message: 'board is missing: the address of the lock board this compartment\'s lock is wired to' });
    if (c.channel === undefined) problems.push({ path: `compartments.${i}.channel`, message: 'channel is missing: the 1-based number of this compartment\'s lock on its board' });
    if (!isWhole(c.board) || !isWhole(c.channel)) return; // missing, or the schema names what is wrong
    const problem = parse?.(c.board, c.channel);
    if (problem) problems.push({ path: `compartments.${i}.${problem.field}`, message: problem.message });
    const key = `${c.board}/${c.channel}`;
    const first = taken.get(key);
    if (first === undefined) taken.set(key, i);
    else problems.push({ path: `compartments.${i}.channel`, message: `board ${c.board} channel ${c.channel} is already the lock of compartments.${first} (${String(compartments[first]!.id)}): give each compartment its own lock` });
  });
  return problems;
}

/** The codec's own address check for the bus's protocol and settings; `null` when the protocol is not known (the schema says so). */
function lockParser(bus: Loose): ((board: number, channel: number) => { field: 'board' | 'channel'; message: string } | null) | null {
  const settle = (parsed: { ok: true } | { ok: false; reason: string; message: string }, protocol: string): { field: 'board' | 'channel'; message: string } | null => {
    if (parsed.ok) return null;
    return { field: parsed.reason === 'board-out-of-range' ? 'board' : 'channel', message: `${parsed.message} — not a lock of this ${protocol} bus` };
  };
  if (bus.protocol === '8a80') {
    const settings = codec8a80.settingsSchema.safeParse(bus);
    const use = settings.success ? settings.data : codec8a80.DEFAULT_SETTINGS;
    return (board, channel) => settle(codec8a80.parseLockAddress({ board, channel }, use), '8a80');
  }
  if (bus.protocol === 'kerong-cu') {
    const settings = codecKerong.settingsSchema.safeParse(bus);
    const use = settings.success ? settings.data : codecKerong.DEFAULT_SETTINGS;
    return (board, channel) => settle(codecKerong.parseLockAddress({ board, channel }, use), 'kerong-cu');
  }
  return null;
}

/** `key`'s values given twice, each second one named with the first. */
function duplicates(compartments: readonly Loose[], key: string, name: (value: unknown) => string): ConfigProblem[] {
  const seen = new Map<unknown, number>();
  const problems: ConfigProblem[] = [];
  compartments.forEach((c, i) => {
    if (c[key] === undefined) return;
    const first = seen.get(c[key]);
    if (first !== undefined) problems.push({ path: `compartments.${i}.${key}`, message: `${name(c[key])} is already used by compartments.${first}: give each compartment its own` });
    else seen.set(c[key], i);
  });
  return problems;
}

/** The compartments as the controller sees them (checked already): lock-board ones carry lockId as lock and sensor. */
export function compartmentsFor(hardware: HardwareConfig, given: readonly CompartmentEntry[] | undefined): CompartmentConfig[] {
  if (hardware.driver === 'lockboard') {
    if (!given) return demoLockboardCompartments(hardware.bus.protocol);
    return given.map(({ id, size, board, channel }) => {
      const lock = lockId(board!, channel!);
      return { id, size, board: board!, channel: channel!, lockChannel: lock, doorSensor: lock };
    });
  }
  if (!given) return demoCompartments();
  return given.map(({ id, size, lockChannel, doorSensor }) => ({ id, size, lockChannel: lockChannel!, doorSensor: doorSensor! }));
}
