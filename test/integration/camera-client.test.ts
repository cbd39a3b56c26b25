import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STILL_BYTES, parseChallenges, SnapshotClient } from '../../firmware-bridge/camera/index.ts';
import { CameraDeviceEmulator } from '../../simulator/camera-device.ts';
import { stillJpeg } from '../../simulator/still-jpeg.ts';

// The snapshot client against real HTTP servers on loopback: the simulated camera (Digest, Basic) and a bare
// server that answers what a misconfigured or broken camera answers. Every failure is a reason and a message.

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
let server: Server;
let handler: Handler;
let base: string;
const seen: { authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push({ authorization: request.headers.authorization });
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = (options: Partial<ConstructorParameters<typeof SnapshotClient>[0]> = {}) => new SnapshotClient({ url: `${base}/snap`, timeoutMs: 1000, ...options });
const JPEG = stillJpeg('test still');

describe('the snapshot client', () => {
  it('signs in with Digest as the simulated camera asks, preferring SHA-256, and reuses the nonce (nc 2, 3…) until it goes stale', async () => {
    const camera = new CameraDeviceEmulator({ auth: 'digest', username: 'admin', password: 'pw-1234' });
    await camera.start();
    try {
      const c = new SnapshotClient({ url: camera.url, username: 'admin', password: 'pw-1234', timeoutMs: 1000 });
      for (let i = 0; i < 3; i++) {
        const still = await c.capture();
        expect(still).toMatchObject({ ok: true });
        if (still.ok) expect(still.jpeg.equals(camera.served().at(-1)!)).toBe(true);
      }
      // One 401 to learn the challenge, then each still in one request.
      expect(camera.state).toMatchObject({ stills: 3, refusedLogins: 1 });
      // The camera forgets its nonces (a reboot): the client answers the fresh challenge.
      camera.setLogin({});
      expect(await c.capture()).toMatchObject({ ok: true });
      expect(camera.state).toMatchObject({ stills: 4, refusedLogins: 2 });
      expect(await new SnapshotClient({ url: camera.url, username: 'admin', password: 'wrong', timeoutMs: 1000 }).capture()).toMatchObject({ ok: false, reason: 'wrong-credentials' });
    } finally {
      await camera.stop();
    }
  });

  it('answers a Digest challenge offering SHA-256 and MD5 with SHA-256, qop=auth and the opaque', async () => {
    seen.length = 0;
    handler = (request, response) => {
      if (!request.headers.authorization) {
        response.writeHead(401, { 'www-authenticate': ['Digest realm="cam", qop="auth", algorithm=MD5, nonce="n1", opaque="op"', 'Digest realm="cam", qop="auth", algorithm=SHA-256, nonce="n1", opaque="op"'] }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG);
    };
    expect(await client({ username: 'u', password: 'p' }).capture()).toEqual({ ok: true, jpeg: JPEG });
    expect(seen[0]!.authorization).toBeUndefined();
    const [answer] = parseChallenges(seen[1]!.authorization!);
    expect(answer).toMatchObject({ scheme: 'digest', params: { username: 'u', realm: 'cam', algorithm: 'SHA-256', qop: 'auth', nc: '00000001', opaque: 'op', uri: '/snap' } });
    expect(answer!.params.cnonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(answer!.params.response).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sends Basic only after the camera asked for it', async () => {
    const camera = new CameraDeviceEmulator({ auth: 'basic', username: 'admin', password: 'pw-1234' });
    await camera.start();
    try {
      const c = new SnapshotClient({ url: camera.url, username: 'admin', password: 'pw-1234', timeoutMs: 1000 });
      expect(await c.capture()).toMatchObject({ ok: true });
      expect(await c.capture()).toMatchObject({ ok: true });
      expect(camera.state).toMatchObject({ stills: 2, refusedLogins: 1 });
    } finally {
      await camera.stop();
    }
  });

  it('names every failure: no login given, a login it cannot give, an HTTP error, not a JPEG, too large, no answer, nobody there', async () => {
    handler = (_request, response) => void response.writeHead(401, { 'www-authenticate': 'Digest realm="cam", nonce="n", qop="auth"' }).end();
    expect(await client().capture()).toEqual({ ok: false, reason: 'wrong-credentials', message: `the camera at ${base} asks for a login (HTTP 401): set camera.username and camera.password` });
    handler = (_request, response) => void response.writeHead(401, { 'www-authenticate': 'Digest realm="cam", nonce="n", algorithm=SHA-512-256' }).end();
    expect(await client({ username: 'u', password: 'p' }).capture()).toMatchObject({ ok: false, reason: 'unsupported-auth', message: expect.stringContaining('SHA-512-256') });

    handler = (_request, response) => void response.writeHead(503).end();
    expect(await client().capture()).toMatchObject({ ok: false, reason: 'http-error', message: expect.stringContaining('HTTP 503') });
    handler = (_request, response) => void response.writeHead(302, { location: '/login' }).end();
    expect(await client().capture()).toMatchObject({ ok: false, reason: 'http-error', message: expect.stringContaining('HTTP 302') });

    handler = (_request, response) => void response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    expect(await client().capture()).toMatchObject({ ok: false, reason: 'not-jpeg', message: expect.stringContaining('text/html, 18 bytes, starting 3C 68 74 6D') });

    const big = Buffer.concat([JPEG, Buffer.alloc(MAX_STILL_BYTES)]);
    handler = (_request, response) => void response.writeHead(200, { 'content-type': 'image/jpeg' }).end(big);
    expect(await client().capture()).toMatchObject({ ok: false, reason: 'too-large' });
    // Without a length: counted as it arrives, and cut off past the limit.
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.write(big.subarray(0, MAX_STILL_BYTES));
      response.end(big.subarray(MAX_STILL_BYTES));
    };
    expect(await client().capture()).toMatchObject({ ok: false, reason: 'too-large' });
    const limit = Buffer.concat([JPEG, Buffer.alloc(MAX_STILL_BYTES - JPEG.length)]);
    handler = (_request, response) => void response.writeHead(200, { 'content-type': 'image/jpeg' }).end(limit);
    expect(await client().capture()).toMatchObject({ ok: true });

    handler = () => undefined; // taken, never answered
    const started = Date.now();
    expect(await client({ timeoutMs: 500 }).capture()).toEqual({ ok: false, reason: 'timeout', message: `the camera at ${base} did not answer within 500 ms` });
    expect(Date.now() - started).toBeLessThan(1500);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await new SnapshotClient({ url: `http://127.0.0.1:${port}/snap`, timeoutMs: 1000 }).capture()).toMatchObject({ ok: false, reason: 'unreachable', message: expect.stringContaining('ECONNREFUSED') });
  });
});
