import type { FastifyReply, FastifyRequest } from 'fastify';

/** Event streams one client address may hold open at once (a clerk's PC with a few tabs; the kiosk has one). */
export const STREAMS_PER_CLIENT = 8;
/** Event streams the whole API holds open at once. */
export const STREAMS_IN_ALL = 200;

/**
 * Open event streams, counted per client address and in all: each costs a socket and a listener on the
 * event bus, so one client must not be able to hold thousands.
 */
export class StreamSlots {
  readonly #open = new Map<string, number>();
  #total = 0;

  constructor(private readonly perClient = STREAMS_PER_CLIENT, private readonly inAll = STREAMS_IN_ALL) {}

  /** A release function when a slot is free; otherwise answers 429 and returns null. */
  acquire(request: FastifyRequest, reply: FastifyReply): (() => void) | null {
    const client = request.ip;
    const mine = this.#open.get(client) ?? 0;
    if (mine >= this.perClient || this.#total >= this.inAll) {
      const which = mine >= this.perClient ? `${client} already has ${mine} event streams open (at most ${this.perClient})` : `the cabinet already serves ${this.#total} event streams`;
      void reply.code(429).header('retry-after', '10').send({ error: `${which}: close one, then reconnect`, issues: [] });
      return null;
    }
    this.#open.set(client, mine + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#open.get(client) ?? 1) - 1;
      if (left > 0) this.#open.set(client, left);
      else this.#open.delete(client);
    };
  }

  get open(): number {
    return this.#total;
  }
}
