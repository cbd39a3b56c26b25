import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';
import { statusExchangeMs } from './lockboard-bus.ts';
import { measureLockboardIdle } from './lockboard-idle.ts';
import { measureLockboardLatency } from './lockboard-latency.ts';
import { percentile, report } from './stats.ts';

/** Each protocol's bus for the idle figures: 8A/80 4 boards × 24 channels; Kerong 6 × 16 (its boards have 16). */
const IDLE_BUS: Record<LockboardProtocol, { boards: number[]; channels: number }> = {
  '8a80': { boards: [1, 2, 3, 4], channels: 24 },
  'kerong-cu': { boards: [0, 1, 2, 3, 4, 5], channels: 16 },
};

const NAME: Record<LockboardProtocol, string> = { '8a80': 'lockboard_8a80', 'kerong-cu': 'lockboard_kerong' };

/**
 * The RS-485 lock-board driver over each protocol's emulated bus with the line's real timing: open → frame and
 * pickup → sensed open through the real controller, then the line's utilisation and the driver's idle CPU.
 */
export async function runLockboardBenchmarks(rounds = 60, idleWindowMs = 10_000): Promise<void> {
  for (const protocol of ['8a80', 'kerong-cu'] as const) {
    const name = NAME[protocol];
    const latency = await measureLockboardLatency(protocol, rounds);
    const line = `${latency.baudRate} baud`;
    const frames = statusExchangeMs(protocol, latency.baudRate);
    report(`${name}_open_to_frame_p50`, percentile(latency.openToFrame, 50), 'ms', { samples: latency.openToFrame.length, what: `POST /loads or /kiosk/pickup → the board has heard the open frame (${line})` });
    report(`${name}_open_to_frame_p99`, percentile(latency.openToFrame, 99), 'ms', { samples: latency.openToFrame.length });
    report(`${name}_pickup_sensed_open_p50`, percentile(latency.pickupSensedOpen, 50), 'ms', { samples: latency.pickupSensedOpen.length, what: `POST /kiosk/pickup → the door sensed open, polled every ${latency.pollMs} ms (${line})` });
    report(`${name}_pickup_sensed_open_p99`, percentile(latency.pickupSensedOpen, 99), 'ms', {
      samples: latency.pickupSensedOpen.length,
      target: `≤ one poll + two frame times (${latency.pollMs} + ${frames.toFixed(1)} = ${(latency.pollMs + frames).toFixed(1)})`,
    });

    const { boards, channels } = IDLE_BUS[protocol];
    const idle = await measureLockboardIdle(protocol, boards, channels, idleWindowMs);
    const bus = `${boards.length} boards × ${channels} channels polled at the default ${latency.pollMs} ms, ${line}`;
    report(`${name}_bus_utilisation`, 100 * idle.busUtilisation, '%', { what: `share of wall time the line carries a request or a reply, ${bus}`, pollsPerBoardPerSecond: Math.round(idle.pollsPerBoardPerSecond * 100) / 100, timeouts: idle.timeouts });
    report(`${name}_idle_cpu`, idle.cpuPercent, '% of a core', { what: `the driver alone in its own process, process.cpuUsage over ${Math.round(idle.windowMs / 1000)} s, ${bus}`, kernel: Math.round(idle.systemPercent * 100) / 100, target: '≤ 1' });
  }
}
