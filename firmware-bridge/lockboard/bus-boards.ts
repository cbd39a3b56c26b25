// The boards on a bus and how each is answering: the driver's bookkeeping of misses and silence, and the rule
// that calls a board lost. Pure: the caller says what happened and when.

export type BoardHealth = 'unknown' | 'ok' | 'lost';

export interface BoardOnBus {
  readonly address: number;
  /** The configured channels, ascending. */
  readonly channels: readonly number[];
  /** The same, for lookups at every poll. */
  readonly channelSet: ReadonlySet<number>;
  health: BoardHealth;
  /** Polls in a row it did not answer. */
  misses: number;
  /** performance.now() of its last answer (or of the connect). */
  lastAnswerAt: number;
  /** Configured channels its replies did not cover, already logged. */
  warned: boolean;
}

export interface LossRule {
  readonly pollMs: number;
  readonly replyMs: number;
  readonly queryRetries: number;
  readonly lostAfterPolls: number;
}

export class BusBoards {
  readonly all: readonly BoardOnBus[];
  readonly #byAddress: ReadonlyMap<number, BoardOnBus>;
  readonly #rule: LossRule;

  constructor(locks: readonly { readonly board: number; readonly channel: number }[], rule: LossRule) {
    const channels = new Map<number, Set<number>>();
    for (const { board, channel } of locks) channels.set(board, (channels.get(board) ?? new Set()).add(channel));
    this.all = [...channels].sort(([a], [b]) => a - b).map(([address, set]) => ({
      address,
      channels: [...set].sort((a, b) => a - b),
      channelSet: set,
      health: 'unknown',
      misses: 0,
      lastAnswerAt: 0,
      warned: false,
    }));
    this.#byAddress = new Map(this.all.map((b) => [b.address, b]));
    this.#rule = rule;
  }

  get(address: number): BoardOnBus | undefined {
    return this.#byAddress.get(address);
  }

  /** A new connection: nobody has answered on it yet. */
  reset(now: number): void {
    for (const board of this.all) {
      board.health = 'unknown';
      board.misses = 0;
      board.lastAnswerAt = now;
    }
  }

  /** How often to ask: a board that missed its last poll (or is lost) once, so dead boards do not slow the others. */
  tries(board: BoardOnBus): number {
    return 1 + (board.health === 'lost' || board.misses > 0 ? 0 : this.#rule.queryRetries);
  }

  /** It answered; says whether it had been lost. */
  answered(board: BoardOnBus, now: number): boolean {
    const wasLost = board.health === 'lost';
    board.misses = 0;
    board.lastAnswerAt = now;
    board.health = 'ok';
    return wasLost;
  }

  /**
   * It missed a poll; returns the boards that are lost now. A board that answered is lost after `lostAfterPolls`
   * misses in a row, or sooner once it has missed and been silent as long as that many polls take. Every board
   * is judged at each miss: on a bus of many silent boards one poll takes long, and a board's own next miss
   * could come too late.
   */
  missed(board: BoardOnBus, now: number): BoardOnBus[] {
    board.misses++;
    const { lostAfterPolls, pollMs, queryRetries, replyMs } = this.#rule;
    const budgetMs = lostAfterPolls * (pollMs + (1 + queryRetries) * replyMs);
    const lost = this.all.filter((b) => b.health === 'ok' && b.misses > 0 && (b.misses >= lostAfterPolls || now - b.lastAnswerAt >= budgetMs));
    for (const b of lost) b.health = 'lost';
    return lost;
  }

  everyOk(): boolean {
    return this.all.every((b) => b.health === 'ok');
  }

  anyLost(): boolean {
    return this.all.some((b) => b.health === 'lost');
  }

  notAnswering(): number[] {
    return this.all.filter((b) => b.health !== 'ok').map((b) => b.address);
  }
}
