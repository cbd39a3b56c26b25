// The ID-card reader's codec: everything a driver or an emulator needs, and nothing that touches a wire.
// See README.md in this folder.

export { IdCardFrame } from './frame.ts';
export {
  COMMAND_CODES,
  MAX_FRAME_LENGTH,
  PREAMBLE,
  checksum,
  decodeFrame,
  encodeFrame,
  encodeReply,
  encodeRequest,
  parseRequest,
  readReplyHeader,
  type DecodedFrame,
  type FrameRefusal,
  type IdCardCommand,
  type ParsedReplyHeader,
  type ParsedRequest,
  type ReplyHeader,
} from './codec.ts';
export { IdCardFramer, type IdCardFramerOptions, type IdCardFramerStats } from './framer.ts';
export { STATUS_CODES, statusCategory, statusOf, type IdCardStatus, type KnownIdCardStatus, type StatusCategory } from './status.ts';
export { TEXT_BLOCK_LENGTH, readIdNumber, readValidUntil, type CardValidUntil, type IdNumberRead, type IdNumberRefusal } from './text-block.ts';
export { CardRead, encodeReadReply, parseReadReply, type ParsedReadReply, type ReadRefusal } from './card-read.ts';
export { isWellFormedIdNumber, maskIdNumber } from './id-number.ts';
