import * as codec from './codec-8a80.ts';
import { addressOrThrow, mapMatcher, range, type BoardReading, type BusProtocol, type Transaction } from './protocol.ts';

// The 8A/80 board family for the bus driver. A whole board is read with one `80 bb 00 33` query; its reply's
// length is taken from the frame until the same length has been seen twice, then pinned (a status byte 33
// followed by one equal to the XOR so far would otherwise cut a reply short). `pollEach: 'lock'` reads each
// lock with its own query instead, which sidesteps the varying bit order of whole-board replies.

/** Whole-board replies of one length seen this many times in a row: that length is the board's. */
const PIN_AFTER = 2;

export function protocol8a80(settings: codec.Settings8a80, pollEach: 'board' | 'lock' = 'board'): BusProtocol {
  const replyLengths = new Map<number, { statusBytes: number; seen: number }>();
  const lock = (board: number, channel: number) => addressOrThrow(codec.parseLockAddress({ board, channel }, settings));
  // A board's query is the same every poll (its matchers hold no state): built, encoded and checked once per
  // board and reply length, not several times a second. Key 0: the length not yet pinned.
  const queries = new Map<number, { request: ReturnType<typeof codec.queryBoard>; bytes: Buffer; byLength: Map<number, Transaction<BoardReading>> }>();
  const wholeBoard = (board: number, pinned: boolean): Transaction<BoardReading> => {
    let query = queries.get(board);
    if (!query) {
      const request = codec.queryBoard(addressOrThrow(codec.parseBoardAddress(board, settings)));
      query = { request, bytes: codec.encodeRequest(request), byLength: new Map() };
      queries.set(board, query);
    }
    const known = replyLengths.get(board);
    const statusBytes = pinned && known && known.seen >= PIN_AFTER ? known.statusBytes : 0;
    let transaction = query.byLength.get(statusBytes);
    if (!transaction) {
      const options = statusBytes > 0 ? { statusBytes } : {};
      transaction = {
        kind: 'query',
        bytes: query.bytes,
        reply: mapMatcher(codec.expectReply(query.request, settings, options), (r) => ({ board: r.board, locks: r.locks, statusBytes: r.statusBytes })),
      };
      query.byLength.set(statusBytes, transaction);
    }
    return transaction;
  };
  return {
    name: '8a80',
    line: codec.LINE,
    reportsItems: false,
    openReplyMs: 1500,
    boardAddresses: () => range(codec.BOARD_RANGE.min, Math.min(settings.highestBoard, codec.BOARD_RANGE.max)),
    lockProblem(board, channel) {
      const parsed = codec.parseLockAddress({ board, channel }, settings);
      return parsed.ok ? null : parsed.message;
    },
    open(board, channel) {
      const request = codec.openLock(lock(board, channel));
      return { kind: 'open', bytes: codec.encodeRequest(request), reply: codec.expectReply(request, settings) };
    },
    readBoard(board, channels) {
      if (pollEach === 'board') return [wholeBoard(board, true)];
      return channels.map((channel) => {
        const request = codec.queryLock(lock(board, channel));
        return {
          kind: 'query' as const,
          bytes: codec.encodeRequest(request),
          reply: mapMatcher(codec.expectReply(request, settings), (r) => ({ board: r.board, locks: [{ channel: r.channel, locked: r.locked }] })),
        };
      });
    },
    probeBoard: (board) => wholeBoard(board, false),
    learn(reading) {
      if (reading.statusBytes === undefined) return;
      const known = replyLengths.get(reading.board);
      if (known?.statusBytes === reading.statusBytes) known.seen++;
      else replyLengths.set(reading.board, { statusBytes: reading.statusBytes, seen: 1 });
    },
  };
}
