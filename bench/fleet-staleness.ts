import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startFleetMonitor } from '../admin-api/fleet/monitor.ts';
import type { FleetFrame } from '../admin-api/fleet/fleet-changes.ts';
import { accountUrl } from '../bin/broker-accounts.ts';
import { FLEET_MONITOR_ACCOUNT } from '../bin/broker-acl.ts';
import { startEmbeddedBroker } from '../bin/embedded-broker.ts';
import { runFleet } from '../simulator/fleet.ts';
import { percentile } from './stats.ts';

export interface FleetStaleness {
  /** Event published (its payload `ts`) → the monitor's state shows it, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
  /** The same, up to the frame of the live stream (`/api/stream`, what the page draws) that carries it. */
  readonly streamP50: number;
  readonly streamP99: number;
  readonly streamSamples: number;
  /** From the first connect until the monitor showed every cabinet online. */
  readonly allOnlineMs: number;
  readonly cabinets: number;
  readonly eventsPerSecond: number;
}

/**
 * The fleet monitor's staleness with `cabinets` simulated cabinets: the embedded broker, the fleet and the
 * monitor (with one page watching its live stream) in this one process, each cabinet publishing
 * `eventsPerCabinetPerSecond`. Every event whose arrival moves a cabinet's last event is one sample. Sharing
 * one event loop among broker, a thousand clients and the monitor makes the figure pessimistic.
 */
export async function measureFleetStaleness(cabinets = 1000, options: { eventsPerCabinetPerSecond?: number; warmupMs?: number; measureMs?: number } = {}): Promise<FleetStaleness> {
  const eps = options.eventsPerCabinetPerSecond ?? 1;
  // The broker as `npm start` runs it (accounts and ACL): every cabinet logs in as its id, the monitor as itself.
  const password = randomBytes(18).toString('base64url');
  const ids = Array.from({ length: cabinets }, (_, i) => `BENCH-${String(i + 1).padStart(Math.max(4, String(cabinets).length), '0')}`);
  const broker = await startEmbeddedBroker({ port: 0, accounts: new Map([...ids, FLEET_MONITOR_ACCOUNT].map((name) => [name, password])) });
  const monitor = await startFleetMonitor({ mqttUrl: accountUrl(broker.url, FLEET_MONITOR_ACCOUNT, password), port: 0, logger: pino({ level: 'silent' }) });
  const abort = new AbortController();
  let fleet: Awaited<ReturnType<typeof runFleet>> | null = null;
  try {
    await monitor.ready();
    const t0 = performance.now();
    fleet = await runFleet({ mqttUrl: broker.url, count: cabinets, prefix: 'BENCH', eventsPerSecond: 0, cabinetPassword: () => password });
    while (monitor.state.summary().online < cabinets) await new Promise((r) => setTimeout(r, 5));
    const allOnlineMs = performance.now() - t0;

    let measuring = false;
    const state: number[] = [];
    const stateSeen = new Map<string, number>();
    monitor.state.onChange((id) => {
      if (!measuring || id === null) return;
      const last = monitor.state.get(id)?.lastEvent;
      if (!last || last.seq <= (stateSeen.get(id) ?? 0)) return;
      stateSeen.set(id, last.seq);
      state.push(Date.now() - Date.parse(last.ts));
    });
    const stream: number[] = [];
    const streamSeen = new Map<string, number>();
    void readStream(new URL('/api/stream', monitor.url).href, abort.signal, (frame) => {
      if (!measuring) return;
      const now = Date.now();
      for (const c of frame.cabinets) {
        if (!c.lastEvent || c.lastEvent.seq <= (streamSeen.get(c.id) ?? 0)) continue;
        streamSeen.set(c.id, c.lastEvent.seq);
        stream.push(now - Date.parse(c.lastEvent.ts));
      }
    });

    // Events start once every cabinet is connected: connecting is not what is measured.
    fleet.setRate(eps);
    await new Promise((r) => setTimeout(r, options.warmupMs ?? 1000));
    measuring = true;
    await new Promise((r) => setTimeout(r, options.measureMs ?? 5000));
    measuring = false;
    fleet.setRate(0);
    return {
      p50: percentile(state, 50), p99: percentile(state, 99), samples: state.length,
      streamP50: percentile(stream, 50), streamP99: percentile(stream, 99), streamSamples: stream.length,
      allOnlineMs, cabinets, eventsPerSecond: eps * cabinets,
    };
  } finally {
    abort.abort();
    await fleet?.stop();
    await monitor.stop();
    await broker.stop();
  }
}

/** A minimal EventSource: calls `onFrame` with every `changes` frame of the stream. */
async function readStream(url: string, signal: AbortSignal, onFrame: (frame: FleetFrame) => void): Promise<void> {
  try {
    const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      pending += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, cut);
        pending = pending.slice(cut + 2);
        if (!block.includes('event: changes')) continue;
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        onFrame(JSON.parse(data) as FleetFrame);
      }
    }
  } catch {
    // aborted at the end
  }
}
