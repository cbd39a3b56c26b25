import { describe, expect, it } from 'vitest';
import { digestAuthorization, digestResponse, parseChallenges, readDigestChallenge, type DigestChallenge } from '../../firmware-bridge/camera/index.ts';
import { ConfigError, parseConfig } from '../../controller/config/load.ts';
import { SNAPSHOT_ID, dayOf, firstKeptDay, isDayName, newSnapshotId, snapshotDay, snapshotIdSchema } from '../../controller/domain/snapshot-id.ts';
import { jpegComment, stillJpeg } from '../../simulator/still-jpeg.ts';
import { isJpeg } from '../../firmware-bridge/camera/jpeg.ts';

// HTTP Digest as RFC 7616 computes it (its §3.9.1 worked example), the challenges a camera's 401 carries, the
// snapshot id that names its day, and the camera config that never echoes a secret.

/** RFC 7616 §3.9.1: the same challenge offered with SHA-256 and with MD5, in one header as fetch joins them. */
const RFC_CHALLENGES = [
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
].join(', ');
const MUFASA = { username: 'Mufasa', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };

const challengeOf = (algorithm: string): DigestChallenge => {
  const found = parseChallenges(RFC_CHALLENGES).map(readDigestChallenge).find((c) => !('unsupported' in c) && c.algorithm === algorithm);
  expect(found, algorithm).toBeDefined();
  return found as DigestChallenge;
};

describe('HTTP Digest (RFC 7616)', () => {
  it('reads both challenges of the worked example from one joined header', () => {
    const challenges = parseChallenges(RFC_CHALLENGES);
    expect(challenges.map((c) => [c.scheme, c.params.algorithm, c.params.qop])).toEqual([['digest', 'SHA-256', 'auth, auth-int'], ['digest', 'MD5', 'auth, auth-int']]);
    expect(challengeOf('SHA-256')).toEqual({ realm: 'http-auth@example.org', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS', algorithm: 'SHA-256', qop: 'auth', userhash: false });
  });

  it('computes the response of §3.9.1 for MD5 and for SHA-256 (Mufasa, "Circle of Life")', () => {
    expect(digestResponse(challengeOf('MD5'), MUFASA)).toEqual({ response: '8ca523f5e9506fed4657c9700eebdbec', username: 'Mufasa', nc: '00000001' });
    expect(digestResponse(challengeOf('SHA-256'), MUFASA).response).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('answers with the Authorization header of the example: nc, cnonce, qop=auth and the opaque echoed', () => {
    const header = digestAuthorization(challengeOf('MD5'), MUFASA);
    expect(header).toBe('Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    // The camera's side reads the answer back with the same parser.
    const [answer] = parseChallenges(header);
    expect(answer!.params).toMatchObject({ username: 'Mufasa', nc: '00000001', qop: 'auth', response: '8ca523f5e9506fed4657c9700eebdbec' });
  });

  it('the nonce count goes into the response, so a replayed answer does not fit a later request', () => {
    const md5 = challengeOf('MD5');
    expect(digestResponse(md5, { ...MUFASA, nc: 2 })).toMatchObject({ nc: '00000002' });
    expect(digestResponse(md5, { ...MUFASA, nc: 2 }).response).not.toBe(digestResponse(md5, MUFASA).response);
  });

  it('refuses what it cannot answer by name: an unknown algorithm, auth-int only, no nonce', () => {
    expect(readDigestChallenge({ scheme: 'digest', params: { realm: 'r', nonce: 'n', algorithm: 'SHA-512-256' } })).toEqual({ unsupported: 'Digest algorithm SHA-512-256' });
    expect(readDigestChallenge({ scheme: 'digest', params: { realm: 'r', nonce: 'n', qop: 'auth-int' } })).toEqual({ unsupported: 'Digest qop auth-int' });
    expect(readDigestChallenge({ scheme: 'digest', params: { realm: 'r' } })).toHaveProperty('unsupported');
    // RFC 2069's older form (no qop) is still answered.
    expect(readDigestChallenge({ scheme: 'digest', params: { realm: 'r', nonce: 'n' } })).toMatchObject({ algorithm: 'MD5', qop: null });
  });

  it('tells schemes from parameters in a mixed header (Basic, a token68, escaped quotes, stale)', () => {
    expect(parseChallenges('Basic realm="cam \\"A\\"", charset="UTF-8", Negotiate abc==, Digest realm=x, nonce="n,1", stale=true')).toEqual([
      { scheme: 'basic', params: { realm: 'cam "A"', charset: 'UTF-8' } },
      { scheme: 'negotiate', params: { token68: 'abc==' } },
      { scheme: 'digest', params: { realm: 'x', nonce: 'n,1', stale: 'true' } },
    ]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('snapshot ids', () => {
  const now = Date.parse('2026-11-30T23:59:59.999Z');

  it('name their UTC day, then 24 hex digits; the day directory follows from the id alone', () => {
    const id = newSnapshotId(now, Buffer.from('9f3c0a1b2c3d4e5f60718293', 'hex'));
    expect(id).toBe('20261130-9f3c0a1b2c3d4e5f60718293');
    expect(id).toMatch(SNAPSHOT_ID);
    expect(snapshotDay(id)).toBe('2026-11-30');
    expect(dayOf(now + 1)).toBe('2026-12-01');
  });

  it('the strict pattern at the edge: no path, no other case, no impossible day', () => {
    for (const bad of ['', '20261130-9F3C0A1B2C3D4E5F60718293', '20261130-9f3c0a1b2c3d4e5f6071829', '20261130-9f3c0a1b2c3d4e5f607182930', '20261131-9f3c0a1b2c3d4e5f60718293', '20260229-9f3c0a1b2c3d4e5f60718293', '../20261130-9f3c0a1b2c3d4e5f60718293', '20261130-9f3c0a1b2c3d4e5f60718293.jpg', '20261130-9f3c0a1b2c3d4e5f60718293\n']) {
      expect(snapshotDay(bad), JSON.stringify(bad)).toBeNull();
      const parsed = snapshotIdSchema.safeParse(bad);
      expect(parsed.success, JSON.stringify(bad)).toBe(false);
      expect(parsed.error!.issues[0]!.message).toMatch(/^id is a snapshot id/);
    }
    expect(snapshotDay('20280229-9f3c0a1b2c3d4e5f60718293')).toBe('2028-02-29');
  });

  it('retention keeps today and the retentionDays days before it', () => {
    expect(firstKeptDay(now, 30)).toBe('2026-10-31');
    expect(firstKeptDay(now, 1)).toBe('2026-11-29');
    expect(['2026-10-30', '2026-13-01', 'notes', '2026-1-01'].map(isDayName)).toEqual([true, false, false, false]);
  });
});

describe('the simulated camera\'s stills', () => {
  it('are JPEGs (FF D8 FF) whose comment differs each time', () => {
    const [a, b] = [stillJpeg('still #1 2026-11-30T10:00:00Z', 9), stillJpeg('still #2 2026-11-30T10:00:01Z', 10)];
    expect(isJpeg(a) && isJpeg(b)).toBe(true);
    expect(a.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(jpegComment(a)).toBe('still #1 2026-11-30T10:00:00Z');
    expect(a.equals(b)).toBe(false);
    expect(isJpeg(Buffer.from('<html>'))).toBe(false);
  });
});

describe('the camera config', () => {
  const problemsOf = (camera: unknown): string => {
    try {
      parseConfig({ camera }, {});
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error('accepted');
  };

  it('is absent by default, and fills its defaults', () => {
    expect(parseConfig({}, {}).camera).toBeNull();
    expect(parseConfig({ camera: { snapshotUrl: 'http://192.168.1.64/onvif-http/snapshot' } }, {}).camera).toEqual({ snapshotUrl: 'http://192.168.1.64/onvif-http/snapshot', required: false, retentionDays: 30, timeoutMs: 3000 });
  });

  it('refuses bad values at start-up naming the field and the fix, never echoing a password', () => {
    expect(problemsOf({ snapshotUrl: 'rtsp://cam/stream' })).toMatch(/camera\.snapshotUrl: .*http:\/\/ or https:\/\//);
    expect(problemsOf({ snapshotUrl: 'cam' })).toMatch(/camera\.snapshotUrl: .*not a URL/);
    const withLogin = problemsOf({ snapshotUrl: 'http://admin:S3cret-pw@cam/snap' });
    expect(withLogin).toMatch(/camera\.snapshotUrl: .*camera\.username and camera\.password/);
    expect(withLogin).not.toContain('S3cret-pw');
    const half = problemsOf({ snapshotUrl: 'http://cam/snap', password: 'S3cret-pw' });
    expect(half).toMatch(/camera\.username: .*give both/);
    expect(half).not.toContain('S3cret-pw');
    expect(problemsOf({ snapshotUrl: 'http://cam/snap', username: 'a', password: 'S3cret\n' })).not.toContain('S3cret');
    expect(problemsOf({ snapshotUrl: 'http://cam/snap', retentionDays: 400 })).toMatch(/camera\.retentionDays: .*1–365/);
    expect(problemsOf({ snapshotUrl: 'http://cam/snap', timeoutMs: 100 })).toMatch(/camera\.timeoutMs: .*500–30000/);
    expect(problemsOf({ snapshotUrl: 'http://cam/snap', require: true })).toMatch(/camera: .*"require"/);
  });
});
