import * as codec from './codec-kerong.ts';
import { addressOrThrow, mapMatcher, range, type BoardReading, type BusProtocol, type Transaction } from './protocol.ts';

// Kerong KR-CU12/CU16 for the bus driver: a board is read with its `30` status query, whose reply carries the
// hooks and the infrared item sensors. The reply to an unlock (a status frame, optional on some firmware) is
// waited for briefly and never read as door state.

export function protocolKerong(settings: codec.SettingsKerong): BusProtocol {
  // A board's status query is the same every poll (its matcher holds no state): built, encoded and checked once
  // per board, not several times a second.
  const queries = new Map<number, Transaction<BoardReading>>();
  const status = (board: number): Transaction<BoardReading> => {
    let query = queries.get(board);
    if (!query) {
      const request = codec.queryBoard(addressOrThrow(codec.parseBoardAddress(board)));
      query = { kind: 'query', bytes: codec.encodeRequest(request), reply: mapMatcher(codec.expectReply(request, settings), (r) => ({ board: r.board, locks: r.locks })) };
      queries.set(board, query);
    }
    return query;
  };
  return {
    name: 'kerong-cu',
    line: codec.LINE,
    reportsItems: true,
    openReplyMs: 1000,
    boardAddresses: () => range(codec.BOARD_RANGE.min, codec.BOARD_RANGE.max),
    lockProblem(board, channel) {
      const parsed = codec.parseLockAddress({ board, channel }, settings);
      return parsed.ok ? null : parsed.message;
    },
    open(board, channel) {
      const request = codec.openLock(addressOrThrow(codec.parseLockAddress({ board, channel }, settings)));
      return { kind: 'open', bytes: codec.encodeRequest(request), reply: codec.expectReply(request, settings) };
    },
    readBoard: (board) => [status(board)],
    probeBoard: status,
    learn() {},
  };
}
