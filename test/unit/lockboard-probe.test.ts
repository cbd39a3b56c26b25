import { afterEach, describe, expect, it } from 'vitest';
import { probeBus } from '../../firmware-bridge/lockboard/probe.ts';
import { boardLines, channelList, probeSummary } from '../../firmware-bridge/lockboard/probe-report.ts';
import { ScriptedBus } from '../support/lockboard-peer.ts';

// Commissioning: `govlocker hardware probe` asks, never opens, and says what to check.

const TCP = { kind: 'tcp', host: '127.0.0.1', port: 1 } as const;
let peer: ScriptedBus;
afterEach(() => peer?.stop());

describe('the lock-board probe', () => {
  it('asks a silent address once and a garbled one twice, and sends nothing but status queries', async () => {
    peer = new ScriptedBus('kerong-cu', [0, 2]);
    let garbled = true;
    peer.script = (request) => {
      if (request.kind === 'query-board' && request.board.board === 2 && garbled) {
        garbled = false;
        return Buffer.from([0xfa, 0xfd, 0x99, 0x99]);
      }
      return 'default';
    };
    peer.boards.get(2)!.items.set(4, true);
    const report = await probeBus({ bus: { protocol: 'kerong-cu', transport: TCP, replyMs: 20 }, boards: [0, 1, 2], openWire: peer.open });
    expect(report.boards.map((b) => b.answered)).toEqual([true, false, true]);
    expect(peer.heard.map((h) => h.frame)).toEqual(['02 00 30 03 35', '02 10 30 03 45', '02 20 30 03 55', '02 20 30 03 55']);
    expect(report.counters.strayBytes).toBe(4);
    const lines = boardLines(report.boards[2]!, [1, 4]);
    expect(lines[0]).toMatch(/^board 2: answers in \d+ ms, 16 locks — reply 02 20 35 FF FF 08 00 03 60$/);
    expect(lines.slice(1)).toEqual(['  shut (latched), configured channels: 1, 4', '  open (released), configured channels: none', '  item seen, configured channels: 4']);
  });

  it('names configured boards that did not answer, and how to flip polarity and bit order', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const report = await probeBus({ bus: { protocol: '8a80', transport: TCP, replyMs: 20 }, boards: [1, 2], openWire: peer.open });
    const summary = probeSummary(report, { lockedWhen: 'set', channelsOneToEightIn: 'last-byte', configured: [{ id: 'A01', board: 1, channel: 1 }, { id: 'B01', board: 2, channel: 1 }, { id: 'B02', board: 2, channel: 2 }] });
    expect(summary[0]).toBe('1 of 2 board addresses answered: 1; no answer from 2.');
    expect(summary).toContainEqual(expect.stringMatching(/^configured board 2 did NOT answer \(compartments B01, B02\)/));
    expect(summary).toContainEqual(expect.stringMatching(/set hardware\.bus\.lockedWhen to "clear"/));
    expect(summary).toContainEqual(expect.stringMatching(/channelsOneToEightIn to "first-byte"/));
  });

  it('writes channel numbers as an installer reads them', () => {
    expect(channelList([5, 1, 2, 3, 9, 10, 24])).toBe('1–3, 5, 9–10, 24');
    expect(channelList([])).toBe('none');
  });
});
