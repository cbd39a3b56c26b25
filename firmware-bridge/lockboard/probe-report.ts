import type { BoardProbe, ProbeReport } from './probe.ts';

// `govlocker hardware probe` in words: who answered, what each lock's contact and item sensor say, and what to
// check when a configured board is silent or the polarity looks reversed.

export interface ProbeWording {
  /** The polarity the probe read with (the bus setting), to say how to flip it. */
  readonly lockedWhen: 'set' | 'clear';
  /** 8A/80: which status byte was read as channels 1–8. */
  readonly channelsOneToEightIn?: 'last-byte' | 'first-byte';
  /** The compartments the configuration puts on this bus, when probing with `--config`. */
  readonly configured?: readonly { readonly id: string; readonly board: number; readonly channel: number }[];
}

/** `1–8, 10, 12–24`: channel numbers as an installer reads them. */
export function channelList(channels: readonly number[]): string {
  const sorted = [...new Set(channels)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}–${sorted[j]}` : `${sorted[i]}`);
    i = j;
  }
  return parts.join(', ') || 'none';
}

/** The header printed before the first board is asked. */
export function probeHeader(protocol: string, transport: string, line: string, boards: readonly number[]): string {
  return `${protocol} bus on ${transport} (line ${line}; a serial server must be set to it) — asking boards ${channelList(boards)} for their status; nothing is opened`;
}

/** One board's lines, as it is asked. */
export function boardLines(result: BoardProbe, configuredChannels?: readonly number[]): string[] {
  if (!result.answered) return [];
  const { reading } = result;
  const locks = configuredChannels ? reading.locks.filter((l) => configuredChannels.includes(l.channel)) : reading.locks;
  const size = reading.statusBytes !== undefined ? `${reading.locks.length} channels (${reading.statusBytes} status bytes)` : `${reading.locks.length} locks`;
  const lines = [`board ${result.board}: answers in ${result.ms} ms, ${size} — reply ${result.frame}`];
  const which = configuredChannels ? ', configured channels' : '';
  lines.push(`  shut (latched)${which}: ${channelList(locks.filter((l) => l.locked).map((l) => l.channel))}`);
  lines.push(`  open (released)${which}: ${channelList(locks.filter((l) => !l.locked).map((l) => l.channel))}`);
  if (reading.locks.some((l) => l.itemPresent !== undefined)) {
    lines.push(`  item seen${which}: ${channelList(locks.filter((l) => l.itemPresent).map((l) => l.channel))}`);
  }
  return lines;
}

/** What came of it: silent boards, configured boards that did not answer, and the polarity and bit-order checks. */
export function probeSummary(report: ProbeReport, wording: ProbeWording): string[] {
  const answered = report.boards.filter((b) => b.answered).map((b) => b.board);
  const silent = report.boards.filter((b) => !b.answered).map((b) => b.board);
  const lines = [
    `${answered.length} of ${report.boards.length} board addresses answered${answered.length ? `: ${channelList(answered)}` : ''}${silent.length ? `; no answer from ${channelList(silent)}` : ''}.`,
  ];
  const c = report.counters;
  if (c.strayBytes + c.badChecks + c.wrongAddress + c.truncated > 0) {
    lines.push(`line noise: ${c.strayBytes} stray bytes, ${c.badChecks} bad check bytes, ${c.wrongAddress} replies for another address, ${c.truncated} cut-off replies (check the A/B wiring, termination and the baud rate)`);
  }
  for (const [board, compartments] of byBoard(wording.configured ?? [])) {
    const ids = compartments.map((x) => x.id).join(', ');
    if (!answered.includes(board)) {
      lines.push(`configured board ${board} did NOT answer (compartments ${ids}): check its address switch, the A/B wiring, its power and the protocol`);
    }
  }
  if (answered.length > 0) {
    const flip = wording.lockedWhen === 'set' ? 'clear' : 'set';
    lines.push(`polarity: read with lockedWhen "${wording.lockedWhen}". With every door shut, every lock should read shut; if they read open, set hardware.bus.lockedWhen to "${flip}".`);
    if (report.protocol === '8a80' && wording.channelsOneToEightIn) {
      lines.push(`bit order: channels 1–8 were read from the ${wording.channelsOneToEightIn === 'last-byte' ? 'last' : 'first'} status byte. Open one door by hand and probe again: if another channel shows open, set hardware.bus.channelsOneToEightIn to "${wording.channelsOneToEightIn === 'last-byte' ? 'first-byte' : 'last-byte'}" (or pollEach "lock").`);
    }
  }
  return lines;
}

function byBoard(configured: readonly { id: string; board: number; channel: number }[]): Map<number, { id: string; channel: number }[]> {
  const out = new Map<number, { id: string; channel: number }[]>();
  for (const c of [...configured].sort((a, b) => a.board - b.board || a.channel - b.channel)) out.set(c.board, [...(out.get(c.board) ?? []), c]);
  return out;
}
