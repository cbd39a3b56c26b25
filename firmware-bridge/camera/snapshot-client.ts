import type { StillCamera, StillCapture, StillFailure } from '../ports.ts';
import { parseChallenges, type Challenge } from './challenge.ts';
import { digestAuthorization, newCnonce, readDigestChallenge, type DigestAlgorithm, type DigestChallenge } from './digest.ts';
import { isJpeg, MAX_STILL_BYTES } from './jpeg.ts';

export interface SnapshotClientOptions {
  /** The camera's snapshot URL (an ONVIF camera's GetSnapshotUri), http or https. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** One capture, the 401 round trip and the body included, ends after this long. */
  readonly timeoutMs: number;
  readonly maxBytes?: number;
}

/** How the camera wants to be signed in to, learnt from its last 401 and reused until it asks again. */
type Login = { scheme: 'basic' } | { scheme: 'digest'; challenge: DigestChallenge; cnonce: string; nc: number };

/** Digest algorithms by preference when a camera offers several. */
const PREFERRED: readonly DigestAlgorithm[] = ['SHA-256', 'SHA-256-sess', 'MD5', 'MD5-sess'];

const failed = (reason: StillFailure, message: string): StillCapture => ({ ok: false, reason, message });

/**
 * Takes stills from an IP camera's snapshot URL with Node's fetch: HTTP Basic or Digest (RFC 7616) sign-in as
 * the camera's 401 asks, one deadline for the whole capture, and only a JPEG of at most 2 MiB accepted. Every
 * failure is a value with its reason; the password goes only into the Authorization header (Basic) or a hash.
 */
export class SnapshotClient implements StillCamera {
  readonly #url: URL;
  #login: Login | null = null;

  constructor(private readonly options: SnapshotClientOptions) {
    this.#url = new URL(options.url);
  }

  /** The camera as logs may name it: scheme, host and port, never a credential. */
  get where(): string {
    return `${this.#url.protocol}//${this.#url.host}`;
  }

  async capture(): Promise<StillCapture> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      return await this.#capture(signal);
    } catch (error) {
      return this.#failure(error, signal);
    }
  }

  async #capture(signal: AbortSignal): Promise<StillCapture> {
    let answer = await this.#get(signal, this.#authorization());
    if (answer.status === 401) {
      const asked = parseChallenges(answer.headers.get('www-authenticate') ?? '');
      await answer.body?.cancel();
      const login = this.#loginFor(asked);
      if ('failure' in login) return login.failure;
      // Asked afresh (no login sent yet, or a nonce gone stale): one more try with the challenge just given;
      // a 401 to that is the wrong login.
      this.#login = login;
      answer = await this.#get(signal, this.#authorization());
      if (answer.status === 401) {
        await answer.body?.cancel();
        this.#login = null;
        return this.#wrongCredentials();
      }
    }
    if (answer.status < 200 || answer.status > 299) {
      await answer.body?.cancel();
      return failed('http-error', `the camera answered HTTP ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''} at ${this.where}${this.#url.pathname}: check camera.snapshotUrl`);
    }
    return this.#still(answer);
  }

  #get(signal: AbortSignal, authorization: string | null): Promise<Response> {
    return fetch(this.#url, { method: 'GET', signal, redirect: 'manual', headers: { accept: 'image/jpeg', ...(authorization ? { authorization } : {}) } });
  }

  #authorization(): string | null {
    const login = this.#login;
    const { username, password } = this.options;
    if (!login || username === undefined || password === undefined) return null;
    if (login.scheme === 'basic') return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    login.nc += 1;
    return digestAuthorization(login.challenge, { username, password, method: 'GET', uri: this.#url.pathname + this.#url.search, nc: login.nc, cnonce: login.cnonce });
  }

  /** The login a 401's challenges ask for, preferring Digest (SHA-256 first) over Basic. */
  #loginFor(asked: Challenge[]): Login | { failure: StillCapture } {
    if (this.options.username === undefined || this.options.password === undefined) {
      return { failure: failed('wrong-credentials', `the camera at ${this.where} asks for a login (HTTP 401): set camera.username and camera.password`) };
    }
    const digests = asked.filter((c) => c.scheme === 'digest').map(readDigestChallenge);
    const usable = digests.filter((d): d is DigestChallenge => !('unsupported' in d));
    usable.sort((a, b) => PREFERRED.indexOf(a.algorithm) - PREFERRED.indexOf(b.algorithm));
    if (usable[0]) return { scheme: 'digest', challenge: usable[0], cnonce: newCnonce(), nc: 0 };
    if (asked.some((c) => c.scheme === 'basic')) return { scheme: 'basic' };
    const offered = digests.map((d) => ('unsupported' in d ? d.unsupported : '')).filter(Boolean).concat(asked.filter((c) => c.scheme !== 'digest').map((c) => c.scheme));
    return { failure: failed('unsupported-auth', `the camera at ${this.where} asks for a login this cabinet cannot give (${offered.join(', ') || 'no challenge'}): set the camera to HTTP Digest (MD5 or SHA-256) or Basic`) };
  }

  #wrongCredentials(): StillCapture {
    return failed('wrong-credentials', `the camera at ${this.where} refused the login (HTTP 401): check camera.username and camera.password`);
  }

  /** The body, read up to the limit, if it is a JPEG. */
  async #still(answer: Response): Promise<StillCapture> {
    const max = this.options.maxBytes ?? MAX_STILL_BYTES;
    const tooLarge = () => failed('too-large', `the camera's still is larger than ${max} bytes: lower its snapshot resolution or quality`);
    const declared = Number(answer.headers.get('content-length') ?? NaN);
    if (declared > max) {
      await answer.body?.cancel();
      return tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = answer.body?.getReader();
    for (;;) {
      const read = reader ? await reader.read() : { done: true as const, value: undefined };
      if (read.done) break;
      size += read.value.byteLength;
      if (size > max) {
        await reader!.cancel();
        return tooLarge();
      }
      chunks.push(Buffer.from(read.value));
    }
    const jpeg = Buffer.concat(chunks, size);
    if (!isJpeg(jpeg)) {
      const type = answer.headers.get('content-type') ?? 'no content-type';
      return failed('not-jpeg', `the camera's answer is not a JPEG (${type}, ${size} bytes${size ? `, starting ${jpeg.subarray(0, 4).toString('hex').toUpperCase().replace(/(..)(?=.)/g, '$1 ')}` : ''}): check camera.snapshotUrl`);
    }
    return { ok: true, jpeg };
  }

  #failure(error: unknown, signal: AbortSignal): StillCapture {
    if (signal.aborted) return failed('timeout', `the camera at ${this.where} did not answer within ${this.options.timeoutMs} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.message ?? cause?.code ?? (error as Error).message ?? String(error);
    return failed('unreachable', `cannot reach the camera at ${this.where} (${why}): check its power, cable and address`);
  }
}
