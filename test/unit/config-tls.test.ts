import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../controller/config/load.ts';

// api.tls as the file gives it: where its paths point, what it defaults to, and the port clashes refused by
// field. Whether the files hold a usable certificate is checked at start (test/integration/https.test.ts).

const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const dir = mkdtempSync(join(tmpdir(), 'govlocker-config-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('api.tls', () => {
  it('is absent by default: plain HTTP on api.port, as always', () => {
    expect(parseConfig({}, {}).api.tls).toBeUndefined();
  });

  it('takes relative certificate paths from the config file\'s directory and keeps absolute ones', () => {
    const file = join(dir, 'cabinet.json');
    writeFileSync(file, JSON.stringify({ api: { tls: { cert: 'tls/cert.pem', key: '/etc/govlocker/key.pem' } } }));
    const { tls } = loadConfig(file, {}).api;
    expect(tls).toEqual({ cert: join(dir, 'tls', 'cert.pem'), key: '/etc/govlocker/key.pem', redirectPort: null, kioskPort: 8081 });
  });

  it('takes them from the working directory when there is no file', () => {
    expect(parseConfig({ api: { tls: { cert: 'c.pem', key: 'k.pem' } } }, {}).api.tls).toMatchObject({ cert: resolve('c.pem'), key: resolve('k.pem') });
  });

  it('names a missing file, an empty path and a stray field', () => {
    expect(problemsOf(() => parseConfig({ api: { tls: { cert: '/x/cert.pem' } } }, {}))).toEqual([
      { path: 'api.tls.key', message: 'give the path of the certificate\'s private key (PEM), e.g. "/var/lib/govlocker/tls/key.pem"' },
    ]);
    expect(problemsOf(() => parseConfig({ api: { tls: { cert: '', key: '/x/key.pem' } } }, {}))).toEqual([
      { path: 'api.tls.cert', message: 'give the path of the server certificate (PEM), e.g. "/var/lib/govlocker/tls/cert.pem"' },
    ]);
    expect(problemsOf(() => parseConfig({ api: { tls: { cert: 'c', key: 'k', ca: 'x' } } }, {})).map((p) => p.path)).toEqual(['api.tls']);
  });

  it('refuses two listeners on one port, naming the later field (the environment\'s api.port included)', () => {
    const tls = { cert: 'c', key: 'k' };
    expect(problemsOf(() => parseConfig({ api: { port: 8443, tls: { ...tls, redirectPort: 8443 } } }, {}))).toEqual([
      { path: 'api.tls.redirectPort', message: 'redirectPort 8443 is api.port already: each listener needs a port of its own (null: no redirect)' },
    ]);
    expect(problemsOf(() => parseConfig({ api: { port: 8443, tls: { ...tls, redirectPort: 8080, kioskPort: 8080 } } }, {}))).toEqual([
      { path: 'api.tls.kioskPort', message: 'kioskPort 8080 is api.tls.redirectPort already: each listener needs a port of its own (null: no plain kiosk listener)' },
    ]);
    expect(problemsOf(() => parseConfig({ api: { port: 8443, tls } }, { GOVLOCKER_API_PORT: '8081' })).map((p) => p.path)).toEqual(['api.tls.kioskPort']);
    // Port 0 picks a free port for each: no clash.
    expect(parseConfig({ api: { port: 0, tls: { ...tls, redirectPort: 0, kioskPort: 0 } } }, {}).api.tls).toMatchObject({ redirectPort: 0, kioskPort: 0 });
    expect(parseConfig({ api: { tls: { ...tls, redirectPort: 8080, kioskPort: null } } }, { GOVLOCKER_API_PORT: '8443' }).api).toMatchObject({ port: 8443, tls: { redirectPort: 8080, kioskPort: null } });
  });
});

describe('deploy/cabinet-https.example.json', () => {
  it('is the example cabinet served in HTTPS on the LAN, from the files govlocker tls self-signed writes', () => {
    const root = resolve(import.meta.dirname, '../..');
    const https = loadConfig(join(root, 'deploy/cabinet-https.example.json'), {});
    const plain = loadConfig(join(root, 'deploy/cabinet.example.json'), {});
    expect(https.api).toEqual({
      host: '0.0.0.0', port: 8443, kioskClients: plain.api.kioskClients,
      tls: { cert: '/var/lib/govlocker/tls/cert.pem', key: '/var/lib/govlocker/tls/key.pem', redirectPort: 8080, kioskPort: 8081 },
    });
    expect({ ...https, api: plain.api }).toEqual(plain);
  });
});
