import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../controller/config/load.ts';

const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('with no file gives the demo cabinet of the contract', () => {
    const c = loadConfig(undefined, {});
    expect(c.cabinetId).toBe('DEMO-01');
    expect(c.compartments.map((x) => x.id)).toHaveLength(24);
    expect(c.compartments[0]).toMatchObject({ id: 'A01', size: 'S' });
    expect(c.compartments.find((x) => x.id === 'B05')?.size).toBe('M');
    expect(c.compartments.find((x) => x.id === 'C08')?.size).toBe('L');
    expect(c.api.port).toBe(8080);
    expect(c.hardware.transport).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3030 });
  });

  it('environment variables override the file', () => {
    const c = parseConfig({ cabinetId: 'FILE-1', api: { port: 9000 } }, { GOVLOCKER_CABINET_ID: 'ENV-7', GOVLOCKER_API_PORT: '0', GOVLOCKER_FIRMATA_PORT: '4000', GOVLOCKER_DATA_DIR: '/tmp/x' });
    expect(c.cabinetId).toBe('ENV-7');
    expect(c.api.port).toBe(0);
    expect(c.hardware.transport).toMatchObject({ kind: 'tcp', port: 4000 });
    expect(c.dataDir).toBe('/tmp/x');
  });

  it('lists every problem by path with its fix, not just the first', () => {
    const problems = problemsOf(() => parseConfig({
      cabinetId: 'bad id!',
      hardware: { driver: 'firmata', pulseMs: 5000 },
      compartments: [{ id: 'A1', size: 'XL', lockChannel: 2, doorSensor: 3 }],
      policy: { lockoutAfterFailures: 3 },
    }, { GOVLOCKER_API_PORT: 'eighty' }));
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['GOVLOCKER_API_PORT', 'cabinetId', 'hardware.pulseMs', 'compartments.0.id', 'compartments.0.size', 'policy.lockoutAfterFailures']));
    expect(problems.find((p) => p.path === 'policy.lockoutAfterFailures')?.message).toMatch(/5 or more/);
  });

  it('keeps personal data 30 days after collection and reminds of an open door after 2 minutes unless told otherwise, and says how to fix a bad value', () => {
    const c = loadConfig(undefined, {});
    expect(c.policy.purgeAfterHours).toBe(720);
    expect(c.hardware.leftOpenMs).toBe(120_000);
    const problems = problemsOf(() => parseConfig({ policy: { purgeAfterHours: 0 }, hardware: { leftOpenMs: 10 } }, {}));
    expect(problems.find((p) => p.path === 'policy.purgeAfterHours')?.message).toMatch(/1–8760 hours.*720 = 30 days/);
    expect(problems.find((p) => p.path === 'hardware.leftOpenMs')?.message).toMatch(/100–86400000 ms/);
  });

  it('refuses two compartments on one lock channel, and a pin used as both relay and sensor', () => {
    const problems = problemsOf(() => parseConfig({ compartments: [
      { id: 'A01', size: 'S', lockChannel: 2, doorSensor: 30 },
      { id: 'A02', size: 'S', lockChannel: 2, doorSensor: 31 },
      { id: 'A03', size: 'S', lockChannel: 4, doorSensor: 2 },
    ] }, {}));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['compartments.1.lockChannel', 'compartments.2.doorSensor']));
  });

  it('refuses unknown keys at every level (a typo must not be silently ignored)', () => {
    expect(problemsOf(() => parseConfig({ cabinetID: 'X' }, {}))[0]?.message).toMatch(/cabinetID/);
    const nested = problemsOf(() => parseConfig({ policy: { lockoutAfterFailure: 9 }, hardware: { pulsems: 100 } }, {}));
    expect(nested.map((p) => p.path)).toEqual(expect.arrayContaining(['policy', 'hardware']));
    expect(nested.map((p) => p.message).join(' ')).toMatch(/lockoutAfterFailure/);
  });

  it('MQTT_URL turns on central ops reporting, and a bad one is named', () => {
    expect(parseConfig({}, { MQTT_URL: 'mqtt://127.0.0.1:1883' }).mqtt?.url).toBe('mqtt://127.0.0.1:1883');
    expect(parseConfig({}, {}).mqtt).toBeNull();
    expect(problemsOf(() => parseConfig({}, { MQTT_URL: 'http://x' }))[0]?.path).toBe('mqtt.url');
  });

  it('names the file when it is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-config-'));
    const file = join(dir, 'cabinet.json');
    writeFileSync(file, '{ "cabinetId": ');
    const problems = problemsOf(() => loadConfig(file, {}));
    expect(problems[0]?.message).toMatch(/not valid JSON/);
    expect(problemsOf(() => loadConfig(join(dir, 'missing.json'), {}))[0]?.message).toMatch(/ENOENT/);
  });
});

describe('the ID-card reader', () => {
  it('takes 115200 baud on a serial line unless told otherwise, and refuses an unknown field by path', () => {
    expect(parseConfig({ idReader: { transport: { kind: 'serial', path: '/dev/ttyUSB1' } } }, {}).idReader?.transport).toEqual({ kind: 'serial', path: '/dev/ttyUSB1', baudRate: 115_200 });
    expect(parseConfig({ idReader: { transport: { kind: 'serial', path: '/dev/ttyUSB1', baudRate: 9600 } } }, {}).idReader?.transport).toMatchObject({ baudRate: 9600 });
    expect(() => parseConfig({ idReader: { transport: { kind: 'tcp', port: 4002 }, model: 'x' } }, {})).toThrowError(/idReader/);
  });
});
