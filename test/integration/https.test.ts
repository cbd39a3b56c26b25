import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchCertificate } from '../../admin-api/https/certificate-reload.ts';
import { startController } from '../../bin/run.ts';
import { ConfigError, parseConfig } from '../../controller/config/load.ts';
import { checkServingCertificate } from '../../controller/config/serving-certificate.ts';
import { ADMIN_TOKEN, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { freePorts, killAllChildren, runGovlocker } from '../support/govlocker-process.ts';
import { OPENSSL_BIN, requireOpenssl } from '../support/test-pki.ts';

// HTTPS on the hall LAN, through the real parts: `govlocker tls self-signed` (the built command) makes the
// certificate, the real controller serves it on api.port, its plain-HTTP redirect and loopback kiosk listeners
// answer over real sockets, and a renewal is served to new connections without a restart.

const dirs: string[] = [];
const tempDir = (what: string) => {
  const dir = mkdtempSync(join(tmpdir(), `govlocker-https-${what}-`));
  dirs.push(dir);
  return dir;
};

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The certificate the server presented (https only). */
  readonly fingerprint?: string;
  readonly protocol?: string | null;
}

/** One request on a fresh connection (so a renewed certificate shows), trusting `ca`; streams end after the headers. */
function viaHttps(port: number, path: string, o: { ca?: Buffer; method?: string; headers?: Record<string, string>; maxVersion?: 'TLSv1.1' } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', servername: 'localhost', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false,
      ca: o.ca, ...(o.maxVersion ? { maxVersion: o.maxVersion, minVersion: 'TLSv1' as const } : {}),
    }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      const protocol = socket.getProtocol();
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode!, headers: res.headers, body: '', fingerprint, protocol });
        return;
      }
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

function viaHttp(port: number, path: string, o: { host?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: o.host ?? '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL_BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A self-signed pair valid between two dates (YYYYMMDDHHMMSSZ), made with `openssl ca` as `req` cannot back-date. */
function pairValidBetween(dir: string, start: string, end: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = this\n[this]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = anything\nunique_subject = no\n[anything]\ncommonName = supplied\n');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=localhost'], dir);
  openssl(['ca', '-batch', '-selfsign', '-config', 'ca.cnf', '-keyfile', 'key.pem', '-in', 'req.csr', '-out', 'cert.pem', '-startdate', start, '-enddate', end, '-notext'], dir);
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

/** What startController refuses with, as ConfigError's problems. */
async function refusal(tls: Record<string, unknown>): Promise<{ path: string; message: string }[]> {
  const config = parseConfig({ dataDir: tempDir('refused'), api: { host: '127.0.0.1', port: 0, tls } }, {});
  const error = await startController(config, { logLevel: 'silent' }).then(
    async (running) => { await running.stop(); return null; },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems.map((p) => ({ ...p }));
}

let dataDir: string;
let cert: string;
let key: string;
let madeBy: { code: number | null; stdout: string; stderr: string };
let cabinet: Harness;
const ca = () => readFileSync(cert);

beforeAll(async () => {
  requireOpenssl();
  dataDir = tempDir('data');
  madeBy = await runGovlocker(['tls', 'self-signed', '--data', dataDir, '--host', 'localhost', '--host', '127.0.0.1', '--days', '90']);
  cert = join(dataDir, 'tls', 'cert.pem');
  key = join(dataDir, 'tls', 'key.pem');
  cabinet = await startHarness({
    config: { api: { tls: { cert, key, redirectPort: 0, kioskPort: 0 } } },
    certificateWatch: { intervalMs: 100, settleMs: 300 },
  });
});

afterAll(async () => {
  killAllChildren();
  await cabinet?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('govlocker tls self-signed', () => {
  it('writes an EC P-256 certificate (0644, not a CA, for the names given) and its key (0600), and prints the fingerprint and the config lines', () => {
    expect(madeBy.code, madeBy.stderr).toBe(0);
    expect(statSync(cert).mode & 0o777).toBe(0o644);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(readFileSync(cert));
    expect(x509.ca).toBe(false);
    expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(x509.validTo).getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect(madeBy.stdout).toContain(`SHA-256    ${x509.fingerprint256}`);
    expect(madeBy.stdout).toContain(JSON.stringify({ api: { tls: { cert, key } } }));
    expect(madeBy.stdout).not.toContain('PRIVATE KEY');
  });

  it('refuses to replace the pair without --force, and names the flag of every bad argument', async () => {
    const again = await runGovlocker(['tls', 'self-signed', '--data', dataDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exist already: pass --force/);
    expect(fingerprintOf(cert)).toBe(new X509Certificate(readFileSync(cert)).fingerprint256);
    const bad: [string[], RegExp][] = [
      [['--data', dataDir, '--host', 'https://cabinet-03', '--force'], /--host "https:\/\/cabinet-03" is a URL/],
      [['--data', dataDir, '--host', 'cabinet-03:8443', '--force'], /--host "cabinet-03:8443" has a port/],
      [['--data', dataDir, '--host', 'under_score', '--force'], /--host "under_score" is neither a host name/],
      [['--data', dataDir, '--days', '900', '--force'], /--days is a whole number of days from 1 to 825/],
      [['--data', join(dataDir, 'nowhere')], /is not a directory: --data names the cabinet's data directory/],
      [[], /--data DIR names the cabinet's data directory/],
    ];
    const results = await Promise.all(bad.map(([args]) => runGovlocker(['tls', 'self-signed', ...args])));
    results.forEach((r, i) => {
      expect(r.code, bad[i]![1].source).toBe(2);
      expect(r.stderr).toMatch(bad[i]![1]);
    });
  });
});

describe('a controller with api.tls', () => {
  it('serves the API over HTTPS (TLS 1.2 or later) to a client that trusts the certificate, with HSTS on answers, pages and streams', async () => {
    const port = cabinet.controller.apiPort;
    const health = await viaHttps(port, '/api/v1/health', { ca: ca() });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: expect.any(String), hardware: 'ok' });
    expect(health.fingerprint).toBe(fingerprintOf(cert));
    expect(['TLSv1.2', 'TLSv1.3']).toContain(health.protocol);
    expect(health.headers['strict-transport-security']).toMatch(/^max-age=\d{7,}$/);
    const [clerk, stream, missing] = await Promise.all([
      viaHttps(port, '/clerk', { ca: ca() }),
      viaHttps(port, '/api/v1/kiosk/events', { ca: ca() }),
      viaHttps(port, '/api/v1/nothing-here', { ca: ca() }),
    ]);
    expect(clerk.status).toBe(200);
    expect(stream.status).toBe(200);
    expect(missing.status).toBe(404);
    for (const answer of [clerk, stream, missing]) expect(answer.headers['strict-transport-security']).toBe(health.headers['strict-transport-security']);
    const compartments = await viaHttps(port, '/api/v1/compartments', { ca: ca(), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(compartments.status).toBe(200);
  });

  it('answers no plain HTTP, no client that does not trust the certificate, and no TLS 1.1 on api.port', async () => {
    const port = cabinet.controller.apiPort;
    await expect(viaHttp(port, '/api/v1/health')).rejects.toThrow();
    await expect(viaHttps(port, '/api/v1/health')).rejects.toThrow(/self[- ]signed/i);
    await expect(viaHttps(port, '/api/v1/health', { ca: ca(), maxVersion: 'TLSv1.1' })).rejects.toThrow();
  });

  it('the redirect port answers every request with 308 to the same host name and path on https and api.port, and serves nothing', async () => {
    const { redirectPort } = cabinet.controller.listeners;
    expect(redirectPort).toEqual(expect.any(Number));
    const apiPort = cabinet.controller.apiPort;
    const page = await viaHttp(redirectPort!, '/clerk?tab=alarms', { headers: { host: `cabinet-03.hall.local:${redirectPort}` } });
    expect(page.status).toBe(308);
    expect(page.headers.location).toBe(`https://cabinet-03.hall.local:${apiPort}/clerk?tab=alarms`);
    const post = await viaHttp(redirectPort!, '/api/v1/cases', { method: 'POST', headers: { host: '192.168.1.20', authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(post.status).toBe(308);
    expect(post.headers.location).toBe(`https://192.168.1.20:${apiPort}/api/v1/cases`);
    const v6 = await viaHttp(redirectPort!, '/', { headers: { host: `[fd00::20]:${redirectPort}` } });
    expect(v6.headers.location).toBe(`https://[fd00::20]:${apiPort}/`);
    const health = await viaHttp(redirectPort!, '/api/v1/health');
    expect(health.status).toBe(308);
    expect(health.body).not.toContain('status');
    expect(health.headers['strict-transport-security']).toBeUndefined();
    const badHost = await viaHttp(redirectPort!, '/clerk', { headers: { host: 'evil.example/x' } });
    expect(badHost.status).toBe(400);
  });

  it('the kiosk listener serves the kiosk page and endpoints in plain HTTP on 127.0.0.1 only, and nothing else', async () => {
    const { kioskPort } = cabinet.controller.listeners;
    expect(kioskPort).toEqual(expect.any(Number));
    const [page, layout, icon] = await Promise.all([viaHttp(kioskPort!, '/kiosk'), viaHttp(kioskPort!, '/api/v1/kiosk/layout'), viaHttp(kioskPort!, '/favicon.svg')]);
    expect(page.status).toBe(200);
    expect(page.body).toContain('/api/v1/kiosk/pickup');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(layout.status).toBe(200);
    expect(JSON.parse(layout.body)).toMatchObject({ cabinetId: 'DEMO-01' });
    expect(icon.status).toBe(200);
    const pickup = await viaHttp(kioskPort!, '/api/v1/kiosk/pickup', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(pickup.status).toBe(400);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const path of ['/api/v1/health', '/api/v1/compartments', '/api/v1/audit', '/clerk', '/metrics', '/docs/json', '/api/v1/events']) {
      expect((await viaHttp(kioskPort!, path, { headers: admin })).status, path).toBe(404);
    }
    // Bound to the address, not to all of loopback (127.0.0.2 is loopback too on Linux).
    const other = await new Promise<string>((resolve) => {
      const socket = connect(kioskPort!, '127.0.0.2');
      socket.once('connect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(other).toBe('ECONNREFUSED');
  });

  it('keeps the kiosk endpoints to api.kioskClients on both listeners', async () => {
    const elsewhere = await startHarness({ config: { api: { kioskClients: ['192.0.2.7'], tls: { cert, key, kioskPort: 0 } } } });
    try {
      const overHttps = await viaHttps(elsewhere.controller.apiPort, '/api/v1/kiosk/layout', { ca: ca() });
      const overLoopback = await viaHttp(elsewhere.controller.listeners.kioskPort!, '/api/v1/kiosk/layout');
      for (const answer of [overHttps, overLoopback]) {
        expect(answer.status).toBe(403);
        expect(JSON.parse(answer.body).issues).toEqual([{ path: 'api.kioskClients', message: 'client address not allowed' }]);
      }
      expect(elsewhere.controller.listeners.redirectPort).toBeNull();
    } finally {
      await elsewhere.stop();
    }
  });

  it('serves a renewed certificate to new connections without a restart, and keeps serving it when the next files are not a pair', async () => {
    const port = cabinet.controller.apiPort;
    const before = fingerprintOf(cert);
    const renewed = await runGovlocker(['tls', 'self-signed', '--data', dataDir, '--host', 'localhost', '--force']);
    expect(renewed.code, renewed.stderr).toBe(0);
    const after = fingerprintOf(cert);
    expect(after).not.toBe(before);
    const served = await until(async () => {
      const answer = await viaHttps(port, '/api/v1/health', { ca: readFileSync(cert) });
      return answer.fingerprint === after ? answer : null;
    }, 5000, 'the renewed certificate to be served');
    expect(served.status).toBe(200);
    expect(cabinet.controller.apiPort).toBe(port);
    expect(cabinet.controller.listeners.certificate()?.fingerprint256).toBe(after);

    // A key that is not the certificate's: logged, and the served pair kept.
    const stranger = tempDir('stranger');
    const other = await runGovlocker(['tls', 'self-signed', '--data', stranger]);
    expect(other.code, other.stderr).toBe(0);
    copyFileSync(join(stranger, 'tls', 'key.pem'), key);
    await new Promise((r) => setTimeout(r, 1200));
    const kept = await viaHttps(port, '/api/v1/health', { ca: readFileSync(cert) });
    expect(kept.status).toBe(200);
    expect(kept.fingerprint).toBe(after);
    expect(cabinet.controller.listeners.certificate()?.fingerprint256).toBe(after);

    // The other pair's certificate arrives too: now it is a pair, and it is served.
    copyFileSync(join(stranger, 'tls', 'cert.pem'), cert);
    const third = fingerprintOf(cert);
    await until(async () => (await viaHttps(port, '/api/v1/health', { ca: readFileSync(cert) })).fingerprint === third, 5000, 'the third certificate to be served');
  });
});

describe('certificates that cannot be served refuse the start, naming the field', () => {
  it('a key that is not the certificate\'s, a missing file, a file that is not PEM, an expired or not yet valid certificate', async () => {
    const dir = tempDir('bad');
    const made = await runGovlocker(['tls', 'self-signed', '--data', dir, '--host', 'localhost']);
    expect(made.code, made.stderr).toBe(0);
    const good = { cert: join(dir, 'tls', 'cert.pem'), key: join(dir, 'tls', 'key.pem') };
    const expired = pairValidBetween(join(dir, 'expired'), '20200101000000Z', '20200201000000Z');
    const future = pairValidBetween(join(dir, 'future'), '20990101000000Z', '20990201000000Z');
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');

    expect(await refusal({ cert: good.cert, key: expired.key })).toEqual([{ path: 'api.tls.key', message: expect.stringMatching(/is not the private key of .*cert\.pem.*give the key the certificate was made with/) }]);
    expect(await refusal({ cert: join(dir, 'missing.pem'), key: good.key })).toEqual([{ path: 'api.tls.cert', message: expect.stringMatching(/missing\.pem does not exist: .*govlocker tls self-signed/) }]);
    expect(await refusal({ cert: join(dir, 'garbage.pem'), key: good.key })).toEqual([{ path: 'api.tls.cert', message: expect.stringMatching(/is not a PEM certificate/) }]);
    expect(await refusal({ cert: good.key, key: good.cert })).toEqual([
      { path: 'api.tls.cert', message: expect.stringMatching(/holds a private key, not a certificate: are cert and key swapped/) },
      { path: 'api.tls.key', message: expect.stringMatching(/holds a certificate, not a private key/) },
    ]);
    expect(await refusal(expired)).toEqual([{ path: 'api.tls.cert', message: expect.stringMatching(/expired on 2020-02-01T00:00:00Z: renew it/) }]);
    expect(await refusal(future)).toEqual([{ path: 'api.tls.cert', message: expect.stringMatching(/is not valid before 2099-01-01T00:00:00Z .*check this PC's clock/) }]);
  });

  it('govlocker start exits 2 with the field and the fix for an expired certificate', async () => {
    const dir = tempDir('cli');
    const expired = pairValidBetween(join(dir, 'expired'), '20200101000000Z', '20200201000000Z');
    const file = join(dir, 'cabinet.json');
    writeFileSync(file, JSON.stringify({ api: { tls: { cert: 'expired/cert.pem', key: 'expired/key.pem', kioskPort: 0 } } }));
    const r = await runGovlocker(['start', '--config', file], { ...freePorts, GOVLOCKER_DATA_DIR: join(dir, 'data') }, 20_000);
    expect(r.code).toBe(2);
    // Relative paths are taken from the config file's directory.
    expect(r.stderr).toContain(`api.tls.cert: ${join(dir, 'expired', 'cert.pem')} expired on 2020-02-01T00:00:00Z`);
  });

  it('a certificate within 30 days of its end is served with a warning at start, and warned about while it is served', async () => {
    const dir = tempDir('soon');
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
    const soon = pairValidBetween(dir, stamp(Date.now() - 86_400_000), stamp(Date.now() + 9.5 * 86_400_000));
    const check = checkServingCertificate(soon, new Date());
    if (!check.ok) throw new Error(JSON.stringify(check.problems));
    expect(check.warnings).toEqual([expect.stringMatching(/^api\.tls\.cert: .* expires on \S+ \(in 9 days\): renew it/)]);
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line)); } });
    const watch = watchCertificate({ files: soon, current: check.certificate, apply: () => undefined, log, expiryCheckMs: 50 });
    try {
      await until(() => lines.length >= 2, 2000, 'two daily looks at the end');
    } finally {
      watch.stop();
    }
    expect(lines[0]).toMatchObject({ level: 40, msg: expect.stringMatching(/^the served certificate expires in 9 days: renew /) });
  });
});
