import { boardKerong, codecKerong } from '../firmware-bridge/lockboard/index.ts';
import { lockedReading, mapMatcher, parsedOrThrow, type BoardRequest, type BoardSide, type BusRequest, type LockboardSettings } from './lockboard-protocol.ts';

// The Kerong KR-CU12/CU16 board as the emulated bus answers it: `30` status and `31` unlock heard with the
// codec's board-side matcher; both answered with the `35` status frame (hooks and infrared item bits), the
// unlock only when the firmware setting says so. Unlock-all (`33`) and the broadcast come back `refused`.

export function boardSideKerong(settings: LockboardSettings): BoardSide {
  // Heard with every lock a frame can name; the bus decides which channels a board has.
  const codecSettings = codecKerong.settingsSchema.parse({ lockedWhen: settings.lockedWhen, channelsPerBoard: codecKerong.MAX_CHANNELS });
  const channels = settings.channelsPerBoard;
  const otherBoard = (board: number) => (board < codecKerong.BOARD_RANGE.max ? board + 1 : board - 1);

  return {
    protocol: 'kerong-cu',
    baudRate: codecKerong.LINE.baudRate,
    requests: mapMatcher(boardKerong.expectRequest(codecSettings), neutral),
    reply(request: BoardRequest, readings, misaddressed) {
      if (request.kind === 'open' && !settings.unlockReply) return null;
      const board = parsedOrThrow(codecKerong.parseBoardAddress(misaddressed ? otherBoard(request.board) : request.board));
      const locks = Array.from({ length: channels }, (_, i) => {
        const reading = readings[i] ?? null;
        return { locked: lockedReading(reading, settings.lockedWhen), itemPresent: reading?.itemPresent ?? false };
      });
      return boardKerong.encodeStatus(board, locks, codecSettings);
    },
    addressProblem(board, channel) {
      const parsed = codecKerong.parseLockAddress({ board, channel }, { ...codecSettings, channelsPerBoard: channels });
      return parsed.ok ? null : parsed.message;
    },
  };
}

function neutral(heard: boardKerong.HeardRequestKerong): BusRequest {
  switch (heard.kind) {
    case 'refused':
      return { kind: 'refused', reason: heard.reason };
    case 'query-board':
      return { kind: 'query-board', board: heard.board.board };
    case 'open':
      return { kind: 'open', board: heard.lock.board, channel: heard.lock.channel };
  }
}
