import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';
import { statusExchangeMs } from './lockboard-bus.ts';
import { measureLockboardIdle, type LockboardIdle } from './lockboard-idle.ts';
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
    // This VM's price for a wake-up drifts by half within minutes: driver and bare-socket floor take turns, and
    // each figure is the median of its turns, so the two are measured under the same weather.
    const turns: { driver: LockboardIdle; floor: LockboardIdle }[] = [];
    for (let turn = 0; turn < 3; turn++) {
      const driver = await measureLockboardIdle(protocol, boards, channels, idleWindowMs);
      const floor = await measureLockboardIdle(protocol, boards, channels, idleWindowMs, { floor: true });
      turns.push({ driver, floor });
    }
    const idle = medianBy(turns.map((t) => t.driver), (m) => m.cpuPercent);
    const floor = medianBy(turns.map((t) => t.floor), (m) => m.cpuPercent);
    const bus = `${boards.length} boards × ${channels} channels polled at the default ${latency.pollMs} ms, ${line}`;
    report(`${name}_bus_utilisation`, 100 * idle.busUtilisation, '%', { what: `share of wall time the line carries a request or a reply, ${bus}`, pollsPerBoardPerSecond: Math.round(idle.pollsPerBoardPerSecond * 100) / 100, timeouts: idle.timeouts });
    report(`${name}_idle_cpu`, idle.cpuPercent, '% of a core', {
      what: `the driver alone in its own process, process.cpuUsage over ${Math.round(idle.windowMs / 1000)} s, median of 3, ${bus}`,
      kernel: round2(idle.systemPercent), turns: turns.map((t) => round2(t.driver.cpuPercent)), target: '≤ 1',
    });
    report(`${name}_idle_cpu_floor`, floor.cpuPercent, '% of a core', {
      what: 'a bare socket making the same exchanges at the same pace (no driver), taking turns with it: the machine\'s own price',
      turns: turns.map((t) => round2(t.floor.cpuPercent)), driverAbove: round2(idle.cpuPercent - floor.cpuPercent),
    });
  }
}

function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)]!;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
