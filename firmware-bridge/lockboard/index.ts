// RS-485 lock-control boards: one codec per protocol (pure: bytes ⇄ frames), each with a board side for
// emulators, and the shared frame reader. Nothing here touches a wire. See README.md in this folder.

export * as codec8a80 from './codec-8a80.ts';
export * as codecKerong from './codec-kerong.ts';
export * as board8a80 from './board-8a80.ts';
export * as boardKerong from './board-kerong.ts';
export { FrameReader, NOTHING_SKIPPED, addSkipCounts, type ReadStep, type SkipCounts } from './frame-reader.ts';
export { UnsafeFrameError, decodeFrame, hex, type Candidate, type Decoded, type FrameMatcher, type FrameProblem, type Parsed, type SerialLine, type SkipReason } from './frame.ts';
export type { AddressProblem } from './address.ts';
