import { board8a80, codec8a80 } from '../firmware-bridge/lockboard/index.ts';
import { lockedReading, mapMatcher, parsedOrThrow, type BoardRequest, type BoardSide, type BusRequest, type LockboardSettings } from './lockboard-protocol.ts';

// The 锁控板 "8A/80" board as the emulated bus answers it: requests heard with the codec's board-side matcher,
// replies made with its encoders (open reply, one lock's status, a whole board whose length follows the
// channel count). The codec's ranges are opened to everything a safe frame can name, so the bus, not the
// parser, decides which boards exist: a frame for a missing board is heard, and left unanswered.

export function boardSide8a80(settings: LockboardSettings): BoardSide {
  const codecSettings = codec8a80.settingsSchema.parse({
    lockedWhen: settings.lockedWhen,
    channelsOneToEightIn: settings.channelsOneToEightIn,
    highestBoard: codec8a80.BOARD_RANGE.max,
    channelsPerBoard: codec8a80.MAX_CHANNELS,
  });
  const channels = settings.channelsPerBoard;
  const lock = (board: number, channel: number) => parsedOrThrow(codec8a80.parseLockAddress({ board, channel }, codecSettings));
  const boardAddress = (board: number) => parsedOrThrow(codec8a80.parseBoardAddress(board, codecSettings));
  const otherBoard = (board: number) => (board < codec8a80.BOARD_RANGE.max ? board + 1 : board - 1);
  // A reply for the wrong lock names the neighbouring channel (another board when there is only one channel).
  const otherLock = (board: number, channel: number) =>
    channels > 1 ? { board, channel: channel < channels ? channel + 1 : channel - 1 } : { board: otherBoard(board), channel };

  return {
    protocol: '8a80',
    baudRate: codec8a80.LINE.baudRate,
    requests: mapMatcher(board8a80.expectRequest(codecSettings), neutral),
    reply(request: BoardRequest, readings, misaddressed) {
      if (request.kind === 'query-board') {
        const locked = Array.from({ length: channels }, (_, i) => lockedReading(readings[i] ?? null, settings.lockedWhen));
        return board8a80.encodeBoardStatus(boardAddress(misaddressed ? otherBoard(request.board) : request.board), locked, codecSettings);
      }
      const at = misaddressed ? otherLock(request.board, request.channel) : request;
      if (request.kind === 'open') return board8a80.encodeOpenReply(lock(at.board, at.channel), 0x00, codecSettings);
      const locked = lockedReading(readings[request.channel - 1] ?? null, settings.lockedWhen);
      return board8a80.encodeLockStatus(lock(at.board, at.channel), locked, codecSettings);
    },
    addressProblem(board, channel) {
      const parsed = codec8a80.parseLockAddress({ board, channel }, { ...codecSettings, channelsPerBoard: channels });
      return parsed.ok ? null : parsed.message;
    },
  };
}

function neutral(heard: board8a80.HeardRequest8a80): BusRequest {
  switch (heard.kind) {
    case 'refused':
      return { kind: 'refused', reason: heard.reason };
    case 'query-board':
      return { kind: 'query-board', board: heard.board.board };
    case 'open':
    case 'query-lock':
      return { kind: heard.kind, board: heard.lock.board, channel: heard.lock.channel };
  }
}
