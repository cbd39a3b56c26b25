import { setMaxListeners } from 'node:events';
import { SimulatedCabinet, type SimulatedEvent } from './fleet-cabinet.ts';
import type { BackoffBounds } from './reconnect-backoff.ts';

export interface FleetOptions {
  readonly mqttUrl: string;
  /** How many cabinets. */
  readonly count: number;
  /** Cabinet ids are `${prefix}-0001` …; 1–26 letters, digits, "-" or "_". */
  readonly prefix?: string;
  /** Events per second, per cabinet (0: status only; events then come from `publishEvent`). */
  readonly eventsPerSecond?: number;
  /** Each cabinet skips one seq after every this many events (a gap for the monitor to find). */
  readonly gapEvery?: number;
  /** Connects in flight at once: a thousand cabinets connect in waves, not in one burst at the broker. */
  readonly connectConcurrency?: number;
  readonly firstSeq?: number;
  /** Told of every event the fleet's own pace published, once the broker has it (not of `publishEvent` calls). */
  readonly onEvent?: (cabinet: SimulatedCabinet, event: SimulatedEvent) => void;
  readonly random?: () => number;
  /** Each cabinet logs in with user name = its id and this password (a broker with the per-cabinet ACL). */
  readonly cabinetPassword?: (cabinetId: string) => string;
  /** Aborting gives the start up: the cabinets connected so far stop (saying offline) and runFleet rejects. */
  readonly signal?: AbortSignal;
  /** A line for the person running the fleet: the broker cannot be reached, or how many cabinets are connected. */
  readonly onNotice?: (message: string) => void;
  readonly backoff?: BackoffBounds;
}

export interface RunningFleet {
  readonly cabinets: readonly SimulatedCabinet[];
  cabinet(id: string): SimulatedCabinet | undefined;
  /** Events published so far by the fleet's own pace. */
  published(): number;
  /** Changes the pace: events per second, per cabinet (0 stops it). */
  setRate(eventsPerSecond: number): void;
  /** Stops every cabinet cleanly (each says offline). */
  stop(): Promise<void>;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,25}$/;
const TICK_MS = 20;
const CONNECTED_REPORT_MS = 5000;

/**
 * `govlocker simulate --fleet N`: N light cabinets against a broker, for the fleet monitor's tests and
 * benchmarks. One timer paces the whole fleet: each cabinet earns `eventsPerSecond` credits a second from a
 * random start, so a thousand cabinets publish evenly spread, not in lockstep.
 */
export async function runFleet(o: FleetOptions): Promise<RunningFleet> {
  const prefix = o.prefix ?? 'SIM';
  if (!PREFIX.test(prefix)) throw new Error(`fleet prefix "${prefix}": 1–26 letters, digits, "-" or "_"`);
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 9999) throw new Error(`fleet size ${o.count}: 1 to 9999 cabinets`);
  const eps = o.eventsPerSecond ?? 1;
  const random = o.random ?? Math.random;
  const width = Math.max(4, String(o.count).length);
  let unreachableSaid = false;
  const cabinets = Array.from({ length: o.count }, (_, i) => {
    const cabinetId = `${prefix}-${String(i + 1).padStart(width, '0')}`;
    return new SimulatedCabinet({
      mqttUrl: o.mqttUrl, cabinetId, firstSeq: o.firstSeq, password: o.cabinetPassword?.(cabinetId), backoff: o.backoff, random,
      onConnectionProblem: (_cabinet, error) => {
        if (unreachableSaid) return;
        unreachableSaid = true;
        o.onNotice?.(`cannot reach the broker (${error.message}); each cabinet retries with backoff`);
      },
    });
  });
  const byId = new Map(cabinets.map((c) => [c.id, c]));

  // At most `connectConcurrency` connects in flight: a thousand cabinets start in waves, not as a thousand
  // sockets at once. The first refusal or the caller's signal ends the start for every worker.
  const giveUp = new AbortController();
  setMaxListeners(0, giveUp.signal); // one listener per connect in flight, by design
  const onAbort = () => giveUp.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  const started: SimulatedCabinet[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cabinets.length && !giveUp.signal.aborted) {
      const cabinet = cabinets[next++]!;
      started.push(cabinet);
      await cabinet.connect({ signal: giveUp.signal });
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.min(o.connectConcurrency ?? 50, cabinets.length) }, () => worker().catch((error: unknown) => {
    giveUp.abort(error);
    throw error;
  })));
  o.signal?.removeEventListener('abort', onAbort);
  if (giveUp.signal.aborted) {
    await Promise.all(started.map((c) => c.stop()));
    const failure = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    throw o.signal?.aborted ? o.signal.reason : failure?.reason ?? giveUp.signal.reason;
  }

  // After the start, a line whenever the number of connected cabinets has changed (the broker went or came back).
  let lastConnected = cabinets.length;
  const reporter = o.onNotice ? setInterval(() => {
    const connected = cabinets.reduce((n, c) => n + (c.connected ? 1 : 0), 0);
    if (connected === lastConnected) return;
    lastConnected = connected;
    o.onNotice!(connected === cabinets.length ? `all ${connected} cabinets connected` : `${connected} of ${cabinets.length} cabinets connected; the others retry with backoff`);
  }, CONNECTED_REPORT_MS) : null;
  reporter?.unref();

  let published = 0;
  let ticker: NodeJS.Timeout | null = null;
  const credit = cabinets.map(() => random());
  const sinceGap = cabinets.map(() => 0);
  const setRate = (eps: number) => {
    if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`events per second ${eps}: 0 or more`);
    if (ticker) clearInterval(ticker);
    ticker = null;
    if (eps === 0) return;
    let last = performance.now();
    ticker = setInterval(() => {
      const now = performance.now();
      const earned = (eps * (now - last)) / 1000;
      last = now;
      cabinets.forEach((cabinet, i) => {
        credit[i]! += earned;
        while (credit[i]! >= 1) {
          credit[i]! -= 1;
          if (!cabinet.connected) continue;
          if (o.gapEvery && ++sinceGap[i]! >= o.gapEvery) {
            sinceGap[i] = 0;
            cabinet.skipSeq(1);
          }
          published++;
          cabinet.publishEvent().then((event) => o.onEvent?.(cabinet, event), () => undefined);
        }
      });
    }, TICK_MS);
  };
  setRate(eps);

  return {
    cabinets,
    cabinet: (id) => byId.get(id),
    published: () => published,
    setRate,
    async stop() {
      setRate(0);
      if (reporter) clearInterval(reporter);
      await Promise.all(cabinets.map((c) => c.stop()));
    },
  };
}
