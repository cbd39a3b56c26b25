import { existsSync } from 'node:fs';
import { MOSQUITTO_BIN } from '../test/support/mosquitto.ts';
import { measureCabinetLatency } from './cabinet-latency.ts';
import { measureColdStart } from './cold-start.ts';
import { measureFleetStaleness } from './fleet-staleness.ts';
import { runLockboardBenchmarks } from './lockboard.ts';
import { measureOutboxDrain } from './outbox-drain.ts';
import { percentile, report } from './stats.ts';
import { measureDriverRoundTrip, measureWireRoundTrip } from './wire.ts';

/**
 * `npm run bench`: every figure as one JSON line on stdout. Targets (from the product's requirements) ride
 * along as `target` so a reader sees at once what each number is held to.
 */
export async function runBenchmarks(): Promise<void> {
  const wire = await measureWireRoundTrip(500);
  const wireP50 = percentile(wire, 50);
  report('wire_round_trip_p50', wireP50, 'ms', { samples: wire.length, what: 'relay pin write → door switch report, plain Firmata over TCP' });
  report('wire_round_trip_p99', percentile(wire, 99), 'ms', { samples: wire.length });

  const driver = await measureDriverRoundTrip(300);
  report('driver_round_trip_p50', percentile(driver, 50), 'ms', { samples: driver.length, what: 'LockBank.pulse() → DoorSensors open edge' });
  report('driver_round_trip_p99', percentile(driver, 99), 'ms', { samples: driver.length });

  const { load, pickup } = await measureCabinetLatency(100);
  report('pickup_latency_p50', percentile(pickup, 50), 'ms', { samples: pickup.length, what: 'POST /kiosk/pickup → every door of the case sensed open' });
  report('pickup_latency_p99', percentile(pickup, 99), 'ms', { samples: pickup.length, target: `≤ 50 and ≤ 3 × wire p50 (${(3 * wireP50).toFixed(2)})` });
  report('load_latency_p50', percentile(load, 50), 'ms', { samples: load.length, what: 'POST /loads → door sensed open' });
  report('load_latency_p99', percentile(load, 99), 'ms', { samples: load.length, target: '≤ 50' });

  await runLockboardBenchmarks();

  // The drain is measured against a real Mosquitto; without one, say what is missing and measure the rest.
  if (existsSync(MOSQUITTO_BIN)) {
    const drain = await measureOutboxDrain(86_400);
    report('outbox_drain_rate', drain.eventsPerSecond, 'events/s', { events: 86_400, received: drain.received, missing: drain.missing, duplicates: drain.duplicates, what: '86,400 queued events → a real Mosquitto, until every one is acknowledged', target: '≥ 10000, none lost' });
  } else {
    process.stdout.write(`${JSON.stringify({ name: 'outbox_drain_rate', skipped: `${MOSQUITTO_BIN} is not installed: apt-get install -y mosquitto (or set MOSQUITTO_BIN) to measure it` })}\n`);
  }

  const fleet = await measureFleetStaleness(1000);
  report('fleet_staleness_p50', fleet.p50, 'ms', { cabinets: fleet.cabinets, samples: fleet.samples, what: 'a cabinet publishes an event → the fleet monitor shows it (1,000 simulated cabinets)' });
  report('fleet_staleness_p99', fleet.p99, 'ms', { cabinets: fleet.cabinets, samples: fleet.samples, target: '≤ 1000' });
  report('fleet_page_staleness_p99', fleet.streamP99, 'ms', { what: 'the same, until the page\'s SSE frame (coalesced every 100 ms)' });

  const starts = [];
  for (let i = 0; i < 3; i++) starts.push(await measureColdStart(i === 2 ? 3000 : 0));
  report('cold_start_to_ready', percentile(starts.map((s) => s.readyMs), 50), 'ms', { runs: starts.map((s) => Math.round(s.readyMs)), what: 'spawn `govlocker start` → health with the board connected', target: '≤ 1500' });
  report('idle_rss', starts[2]!.idleRssBytes / 1024 / 1024, 'MB', { what: 'govlocker start (simulator + controller + API), 3 s idle', target: '≤ 120' });
}
