import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import type { MqttLink } from './mqtt-link.ts';
import type { Topics } from './topics.ts';

interface EventRow { seq: number; id: string; boot_id: string; ts: number; type: string; data: string }

const toPayload = (r: EventRow): string =>
  `{"seq":${r.seq},"bootId":${JSON.stringify(r.boot_id)},"id":${JSON.stringify(r.id)},"ts":${JSON.stringify(new Date(r.ts).toISOString())},"type":${JSON.stringify(r.type)},"data":${r.data}}`;

/**
 * Sends the event outbox to `…/events` in seq order at QoS 1, up to `window` publishes in flight, and marks a
 * row sent only when the broker has acknowledged it (marks are written in batches: one fsync per batch, not
 * per event). mqtt.js's own queue is not relied on: on every (re)connect the drain starts again from the
 * first unacknowledged row, so nothing is lost across a broker restart or ours (a repeat is possible; `seq`
 * lets a consumer drop it).
 */
export class OutboxDrainer {
  #cursor = 0;
  #inflight = 0;
  #generation = 0;
  #pumping = false;
  #stopped = false;
  #offConnected: (() => void) | null = null;
  #acked: number[] = [];
  #flushTimer: NodeJS.Timeout | null = null;
  #pruneTimer: NodeJS.Timeout | null = null;
  readonly #unsentAfter;
  readonly #markSent;

  constructor(
    private readonly db: Db,
    private readonly link: MqttLink,
    private readonly topics: Topics,
    private readonly options: { window: number; keepSentDays: number; maxUnsent: number; logger: Logger; onOverflow: (dropped: { from: number; to: number }) => void; now?: () => number },
  ) {
    this.#unsentAfter = db.prepare<[number, number]>('SELECT seq, id, boot_id, ts, type, data FROM events WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?');
    this.#markSent = db.prepare<[number, number]>('UPDATE events SET sent_at = ? WHERE seq = ? AND sent_at IS NULL');
  }

  start(): void {
    this.#stopped = false;
    this.#offConnected = this.link.onConnected(() => this.restart());
    this.#pruneTimer = setInterval(() => this.prune(), 3_600_000);
    this.#pruneTimer.unref();
    this.prune();
  }

  stop(): void {
    // A connect may still arrive while the link closes; after stop the database may be closed too.
    this.#stopped = true;
    this.#offConnected?.();
    this.#offConnected = null;
    this.#generation++;
    this.flush();
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    this.#pruneTimer = null;
  }

  /** New events were committed. */
  kick(): void {
    void this.#pump();
  }

  /** A new connection: send again from the first row the broker has not acknowledged. */
  restart(): void {
    if (this.#stopped) return;
    this.flush();
    this.#generation++;
    this.#cursor = 0;
    this.#inflight = 0;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#stopped) return;
    this.#pumping = true;
    try {
      const generation = this.#generation;
      while (this.link.state === 'connected' && generation === this.#generation && this.#inflight < this.options.window) {
        const rows = this.#unsentAfter.all(this.#cursor, this.options.window - this.#inflight) as EventRow[];
        if (rows.length === 0) break;
        for (const row of rows) {
          this.#cursor = row.seq;
          this.#inflight++;
          this.link.publish(this.topics.events, toPayload(row), { qos: 1 }).then(
            () => this.#onAck(generation, row.seq),
            () => this.#onLost(generation),
          );
        }
        // Let acks and socket writes through before reading the next batch.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#pumping = false;
    }
  }

  #onAck(generation: number, seq: number): void {
    if (generation !== this.#generation) {
      // Acknowledged on a connection we already gave up on: still true, so record it.
      this.#acked.push(seq);
      this.#scheduleFlush();
      return;
    }
    this.#inflight--;
    this.#acked.push(seq);
    if (this.#acked.length >= 500) this.flush();
    else this.#scheduleFlush();
    if (this.#inflight < this.options.window / 2) void this.#pump();
  }

  #onLost(generation: number): void {
    if (generation === this.#generation) this.#inflight = Math.max(0, this.#inflight - 1);
  }

  #scheduleFlush(): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => this.flush(), 10);
  }

  /** Writes the acknowledged marks, one transaction for the batch. */
  flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    if (this.#acked.length === 0 || !this.db.open) return;
    const batch = this.#acked;
    this.#acked = [];
    const now = (this.options.now ?? Date.now)();
    try {
      this.db.transaction(() => {
        for (const seq of batch) this.#markSent.run(now, seq);
      })();
    } catch (error) {
      // The marks could not be written (disk full): those events stay unsent and go out again after the next
      // reconnect; consumers drop the duplicates by seq.
      this.options.logger.error({ err: (error as Error).message, events: batch.length }, 'could not mark events as sent');
    }
  }

  /** Sends again the kept events from `fromSeq` (sent or not), for ops' `replay`. Returns what it sent. */
  async replay(fromSeq: number, limit = 100_000): Promise<{ from: number; to: number; count: number }> {
    const rows = this.db.prepare<[number, number]>('SELECT seq, id, boot_id, ts, type, data FROM events WHERE seq >= ? ORDER BY seq LIMIT ?').all(fromSeq, limit) as EventRow[];
    const sends = rows.map((row) => this.link.publish(this.topics.events, toPayload(row), { qos: 1 }));
    await Promise.allSettled(sends);
    return { from: rows[0]?.seq ?? fromSeq, to: rows.at(-1)?.seq ?? fromSeq - 1, count: rows.length };
  }

  /** Drops sent events older than the keeping time, and the oldest unsent ones past the bound (saying so). */
  prune(): void {
    if (!this.db.open) return;
    const cutoff = (this.options.now ?? Date.now)() - this.options.keepSentDays * 86_400_000;
    this.db.prepare('DELETE FROM events WHERE sent_at IS NOT NULL AND ts < ? AND seq < (SELECT max(seq) FROM events)').run(cutoff);
    const unsent = (this.db.prepare('SELECT count(*) AS n FROM events WHERE sent_at IS NULL').get() as { n: number }).n;
    const excess = unsent - this.options.maxUnsent;
    if (excess > 0) {
      const range = this.db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM (SELECT seq FROM events WHERE sent_at IS NULL ORDER BY seq LIMIT ?)').get(excess) as { lo: number; hi: number };
      this.db.prepare('DELETE FROM events WHERE sent_at IS NULL AND seq BETWEEN ? AND ?').run(range.lo, range.hi);
      this.options.logger.error({ dropped: excess, from: range.lo, to: range.hi }, 'event outbox over its bound: oldest unsent events dropped');
      this.options.onOverflow({ from: range.lo, to: range.hi });
    }
  }
}
