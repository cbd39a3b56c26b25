import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/schema.ts';
import { configFields, REFERENCE_FILE, renderConfigReference, type ConfigField } from '../../docs/config-reference.ts';

// docs/configuration.md is generated from the configuration schema. These checks keep the two one: the file is
// what the schema generates now, every field says what it means, and the defaults it states are the ones the
// schema applies.

const fields = configFields();
const field = (path: string, when?: string) => {
  const found = fields.filter((f) => f.path === path && (when === undefined || f.when.some((c) => c.values.includes(when))));
  expect(found, `${path}${when ? ` (${when})` : ''}`).toHaveLength(1);
  return found[0]!;
};

const valueAt = (config: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), config);

/** The defaults the reference states for the fields that apply to this config and that it leaves out. */
function statedDefaults(config: object): { path: string; stated: unknown; applied: unknown }[] {
  const parsed = configSchema.parse(config);
  const applies = (f: ConfigField) => !f.path.includes('[]') && valueAt(config, f.path) === undefined && f.when.every((c) => c.values.includes(String(valueAt(parsed, c.key))));
  return fields.filter((f) => applies(f) && /^`.*`$/.test(f.default) && valueAt(parsed, f.path) !== undefined)
    .map((f) => ({ path: f.path, stated: JSON.parse(f.default.slice(1, -1)), applied: valueAt(parsed, f.path) }));
}

describe('the configuration reference (docs/configuration.md)', () => {
  it('is what the configuration schema generates', () => {
    const onDisk = readFileSync(REFERENCE_FILE, 'utf8');
    expect(onDisk, 'docs/configuration.md is out of date with the configuration schema: run `npm run docs:config` and commit the result').toBe(renderConfigReference());
  });

  it('says what every field means', () => {
    expect(fields.filter((f) => !f.description.trim()).map((f) => f.path), 'fields without .describe() in the schema').toEqual([]);
    expect(new Set(fields.map((f) => `${f.path} ${JSON.stringify(f.when)}`)).size).toBe(fields.length);
  });

  it('covers every section, both hardware drivers and both lock-board protocols, with ranges and allowed values', () => {
    const sections = new Set(fields.map((f) => f.path.split(/[.[]/)[0]));
    expect([...sections]).toEqual(['cabinetId', 'dataDir', 'api', 'hardware', 'scanner', 'idReader', 'compartments', 'policy', 'staff', 'mqtt', 'camera']);
    expect(field('hardware.driver')).toMatchObject({ default: '`"firmata"`', allowed: '"firmata", "lockboard"' });
    expect(field('hardware.transport.path').when).toEqual([{ key: 'hardware.driver', values: ['firmata'] }, { key: 'hardware.transport.kind', values: ['serial'] }]);
    // Timing that both drivers take carries no condition; the bus only with lock boards.
    expect(field('hardware.openTimeoutMs')).toMatchObject({ default: '`2000`', allowed: '100–60000', when: [] });
    expect(field('hardware.bus.pollMs')).toMatchObject({ allowed: '20–1000', when: [{ key: 'hardware.driver', values: ['lockboard'] }] });
    expect(field('hardware.bus.pollEach').when).toContainEqual({ key: 'hardware.bus.protocol', values: ['8a80'] });
    expect(field('hardware.bus.channelsPerBoard', '8a80')).toMatchObject({ default: '`50`', allowed: '1–50' });
    expect(field('hardware.bus.channelsPerBoard', 'kerong-cu')).toMatchObject({ default: '`16`', allowed: '1–16' });
    expect(fields.some((f) => f.path === 'hardware.bus' && f.when.some((c) => c.values.includes('firmata')))).toBe(false);
    expect(field('policy.lockoutAfterFailures')).toMatchObject({ type: 'integer', default: '`5`', allowed: '5–100' });
    expect(field('policy.qrNeedsIdSuffix').allowed).toBe('"sensitive-items", "always"');
    expect(field('staff.sessionIdleMinutes')).toMatchObject({ type: 'integer', default: '`15`', allowed: '1–480' });
    expect(field('staff.lockoutAfterFailures')).toMatchObject({ default: '`5`', allowed: '3–20' });
    expect(field('compartments[].size')).toMatchObject({ required: true, allowed: '"S", "M", "L"' });
    expect(field('mqtt')).toMatchObject({ type: 'object or null', default: '`null`' });
    expect(field('mqtt.url').required).toBe(true);
    expect(field('idReader.transport.baudRate').default).toBe('`115200`');
    expect(field('idReader').default).toBe('(absent)');
  });

  it('states the defaults the schema applies, for the demo cabinet and for each lock-board protocol', () => {
    const configs = [
      {},
      { hardware: { driver: 'lockboard', bus: { protocol: '8a80', transport: { kind: 'tcp', port: 4001 } } }, scanner: { transport: { kind: 'serial', path: '/dev/ttyUSB0' } } },
      { hardware: { driver: 'lockboard', bus: { protocol: 'kerong-cu', transport: { kind: 'serial', path: '/dev/ttyUSB0' } } }, idReader: { transport: { kind: 'serial', path: '/dev/ttyUSB1' } }, mqtt: { url: 'mqtt://ops.example:1883' } },
    ];
    let compared = 0;
    for (const config of configs) {
      for (const { path, stated, applied } of statedDefaults(config)) {
        expect(applied, path).toEqual(stated);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(60);
  });
});
