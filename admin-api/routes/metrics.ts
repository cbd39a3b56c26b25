import type { FastifyPluginAsync } from 'fastify';
import type { Cabinet } from '../../controller/cabinet.ts';

const line = (name: string, value: number, labels: Record<string, string> = {}) => {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
  return `${name}${l ? `{${l}}` : ''} ${value}`;
};

/** Prometheus text format, computed at scrape time from the store (cheap: a few counts). */
export const metricsRoute: FastifyPluginAsync<{ cabinet: Cabinet }> = async (app, { cabinet }) => {
  app.get('/metrics', async (_request, reply) => {
    const out: string[] = [];
    const gauge = (name: string, help: string, rows: [number, Record<string, string>?][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...rows.map(([v, l]) => line(name, v, l)));
    };
    const cabinetId = cabinet.config.cabinetId;
    const counts = cabinet.services.compartments.counts();
    gauge('govlocker_compartments', 'Compartments by state.', Object.entries(counts).filter(([k]) => k !== 'total').map(([state, n]) => [n, { cabinet: cabinetId, state }]));
    const cases = cabinet.context.repos.cases.countByState();
    gauge('govlocker_cases', 'Cases by state.', cases.map((c) => [c.n, { cabinet: cabinetId, state: c.state }]));
    gauge('govlocker_hardware_up', '1 while the lock board is connected.', [[cabinet.board.link === 'ok' ? 1 : 0, { cabinet: cabinetId }]]);
    const idReader = cabinet.health().idReader;
    if (idReader !== 'absent') gauge('govlocker_id_reader_up', '1 while the ID-card reader answers (without it the ID suffix is typed).', [[idReader === 'ok' ? 1 : 0, { cabinet: cabinetId }]]);
    const camera = cabinet.context.evidence.health;
    if (camera !== 'absent') gauge('govlocker_camera_up', '1 while the camera over the doors gives stills (0: down, or not yet heard since start).', [[camera === 'ok' ? 1 : 0, { cabinet: cabinetId }]]);
    gauge('govlocker_storage_ok', '1 while the database takes writes; 0 while it fails (disk full, I/O error).', [[cabinet.store.health.state.ok ? 1 : 0, { cabinet: cabinetId }]]);
    gauge('govlocker_outbox_depth', 'Events not yet acknowledged by the broker.', [[cabinet.store.outbox.depth(), { cabinet: cabinetId }]]);
    const seq = cabinet.store.outbox.lastSeq();
    out.push('# HELP govlocker_events_total Events recorded (the last seq).', '# TYPE govlocker_events_total counter', line('govlocker_events_total', seq, { cabinet: cabinetId }));
    const guard = cabinet.services.pickup.guardStatus();
    gauge('govlocker_pickup_failures_today', 'Failed pickup attempts today (cabinet-wide).', [[guard.failuresToday, { cabinet: cabinetId }]]);
    gauge('govlocker_pickup_locked', '1 while code entry is locked out or suspended.', [[guard.lockedUntil || guard.suspended ? 1 : 0, { cabinet: cabinetId }]]);
    gauge('govlocker_alarms_open', 'Alarms not yet acknowledged by ops.', [[cabinet.services.alarms.openCount(), { cabinet: cabinetId }]]);
    const counter = (name: string, help: string, rows: [number, Record<string, string>][]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, ...rows.map(([v, l]) => line(name, v, { cabinet: cabinetId, ...l })));
    // Reminders before a credential expires, and lost codes sent again at the kiosk (since start).
    const reminders = cabinet.services.reminders.stats();
    counter('govlocker_reminders_sent_total', 'Reminders queued for the SMS gateway before a credential expires.', [[reminders.sent, {}]]);
    counter('govlocker_reminders_skipped_total', 'Reminders not sent because the case no longer waited, by its state.', Object.entries(reminders.skipped).map(([state, n]) => [n, { state }]));
    const resends = cabinet.services.lostCode.stats();
    counter('govlocker_kiosk_resends_total', 'Lost pickup codes sent again at the kiosk.', [[resends.sent, {}]]);
    counter('govlocker_kiosk_resends_denied_total', 'Lost-code requests at the kiosk that were refused, by reason.', Object.entries(resends.denied).map(([reason, n]) => [n, { reason }]));
    // A request/response bus (RS-485 lock boards) says what it saw on the wire since start.
    const bus = cabinet.board.stats?.();
    if (bus) {
      const counter = (name: string, help: string, value: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, line(name, value, { cabinet: cabinetId }));
      counter('govlocker_bus_requests_total', 'Requests written on the lock-board bus (opens and queries, retries included).', bus.requests);
      counter('govlocker_bus_opens_total', 'Open frames written: one per lock opened.', bus.opens);
      counter('govlocker_bus_replies_total', 'Requests answered by the awaited reply.', bus.replies);
      counter('govlocker_bus_timeouts_total', 'Requests that got no reply in time.', bus.timeouts);
      counter('govlocker_bus_retries_total', 'Status queries asked again after a timeout (an open never is).', bus.retries);
      counter('govlocker_bus_stray_bytes_total', 'Bytes skipped outside any frame (line noise, late replies).', bus.strayBytes);
      counter('govlocker_bus_bad_checks_total', 'Replies skipped for a wrong check byte.', bus.badChecks);
      counter('govlocker_bus_wrong_address_total', 'Frames skipped because they were from or for another board or lock.', bus.wrongAddress);
      counter('govlocker_bus_unexpected_total', 'Frames skipped from the right board answering something else (late replies).', bus.unexpected);
      counter('govlocker_bus_echoes_total', 'Requests heard back on the line and skipped.', bus.echoes);
      counter('govlocker_bus_truncated_total', 'Replies cut off before their end.', bus.truncated);
    }
    const reader = cabinet.idReader?.stats;
    if (reader) {
      const counter = (name: string, help: string, rows: [number, Record<string, string>][]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, ...rows.map(([v, l]) => line(name, v, { cabinet: cabinetId, ...l })));
      counter('govlocker_id_reader_cards_total', 'ID cards read and reported to the kiosk.', [[reader.cards, {}]]);
      counter('govlocker_id_reader_requests_total', 'Requests written to the ID-card reader.', [[reader.requests, {}]]);
      counter('govlocker_id_reader_timeouts_total', 'Requests the ID-card reader did not answer in time.', [[reader.timeouts, {}]]);
      counter('govlocker_id_reader_refusals_total', 'Answers of the reader that were neither a card nor "no card", by status.', Object.entries(reader.refusals).map(([status, n]) => [n, { status }]));
      counter('govlocker_id_reader_unusable_reads_total', 'Cards read whose data could not be used, by reason.', Object.entries(reader.unusableReads).map(([reason, n]) => [n, { reason }]));
      counter('govlocker_id_reader_bad_frames_total', 'Reader frames skipped for a bad checksum or length.', [[reader.framer.badChecksum + reader.framer.badLength, {}]]);
    }
    const mem = process.memoryUsage();
    gauge('govlocker_process_resident_bytes', 'Resident memory.', [[mem.rss]]);
    gauge('govlocker_uptime_seconds', 'Seconds since start.', [[Math.round((Date.now() - cabinet.startedAt) / 1000)]]);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(out.join('\n') + '\n');
  });
};
