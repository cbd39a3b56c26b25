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
    gauge('govlocker_storage_ok', '1 while the database takes writes; 0 while it fails (disk full, I/O error).', [[cabinet.store.health.state.ok ? 1 : 0, { cabinet: cabinetId }]]);
    gauge('govlocker_outbox_depth', 'Events not yet acknowledged by the broker.', [[cabinet.store.outbox.depth(), { cabinet: cabinetId }]]);
    const seq = cabinet.store.outbox.lastSeq();
    out.push('# HELP govlocker_events_total Events recorded (the last seq).', '# TYPE govlocker_events_total counter', line('govlocker_events_total', seq, { cabinet: cabinetId }));
    const guard = cabinet.services.pickup.guardStatus();
    gauge('govlocker_pickup_failures_today', 'Failed pickup attempts today (cabinet-wide).', [[guard.failuresToday, { cabinet: cabinetId }]]);
    gauge('govlocker_pickup_locked', '1 while code entry is locked out or suspended.', [[guard.lockedUntil || guard.suspended ? 1 : 0, { cabinet: cabinetId }]]);
    gauge('govlocker_alarms_open', 'Alarms not yet acknowledged by ops.', [[cabinet.services.alarms.openCount(), { cabinet: cabinetId }]]);
    const mem = process.memoryUsage();
    gauge('govlocker_process_resident_bytes', 'Resident memory.', [[mem.rss]]);
    gauge('govlocker_uptime_seconds', 'Seconds since start.', [[Math.round((Date.now() - cabinet.startedAt) / 1000)]]);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(out.join('\n') + '\n');
  });
};
