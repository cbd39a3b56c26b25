import { afterEach, describe, expect, it } from 'vitest';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase } from '../support/cabinet-steps.ts';

// A full disk, through SQLite's own SQLITE_FULL: the database may not grow past the pages it has now, and the
// room left inside them is used up, as on a card that filled up with logs.

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

function fillTheDisk(harness: Harness): void {
  const { store } = harness.controller.cabinet;
  store.db.exec('CREATE TABLE IF NOT EXISTS disk_filler (x BLOB)');
  store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
  for (let i = 0; i < 10_000; i++) {
    try {
      store.db.prepare('INSERT INTO disk_filler VALUES (?)').run(Buffer.alloc(1000, 7));
    } catch {
      break;
    }
  }
  // The last pages of the event log and the audit chain still have a little room: use it up, big rows first.
  for (const pad of [1000, 300, 100, 30, 0]) {
    for (let i = 0; i < 100; i++) {
      try {
        store.change((ctx) => {
          ctx.event('disk.filler', { pad: 'x'.repeat(pad) });
          ctx.audit('test', 'disk.filler', { pad: 'x'.repeat(pad) });
        });
      } catch {
        break;
      }
    }
  }
}

const latchPulses = (harness: Harness) => Object.values(harness.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);

describe('a database that cannot be written', () => {
  it('opens no door, refuses pickups, loads and new cases in plain words, keeps /health answering, and raises an alarm once it writes again', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'DISK-1', [{ type: 'seal', barcode: 'DISK-SEAL', label: '公章' }]);
    expect((await h.call('POST', '/api/v1/cases', caseBody('DISK-2', [{ type: 'invoice', barcode: 'DISK-INV' }]))).status).toBe(201);
    const pulsesBefore = latchPulses(h);

    fillTheDisk(h);

    // The applicant with the right code is sent to the window; no relay fires.
    const pickup = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(pickup.status).toBe(200);
    expect(pickup.json).toEqual({ result: 'denied', reason: 'out-of-service', cause: 'storage-failing', window: h.controller.cabinet.config.policy.helpWindow });

    const load = await h.call('POST', '/api/v1/loads', { barcode: 'DISK-INV' });
    expect(load.status).toBe(503);
    expect(load.json).toMatchObject({ code: 'storage-unavailable' });
    expect(load.json.error).toMatch(/cannot write to its database \(SQLITE_FULL\).*nothing was changed/);

    const created = await h.call('POST', '/api/v1/cases', caseBody('DISK-3', [{ type: 'invoice', barcode: 'DISK-INV-3' }]));
    expect(created.status).toBe(503);
    expect((await h.call('GET', '/api/v1/cases/DISK-3')).status).toBe(404); // nothing half-written

    // Health and metrics still answer, and say what is wrong.
    const health = await h.call('GET', '/api/v1/health', undefined, null);
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', hardware: 'ok', storage: 'failing' });
    expect((await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^govlocker_storage_ok\{cabinet="DEMO-01"\} 0$/m);

    // A door forced meanwhile cannot be recorded, but the cabinet keeps running and finds it later.
    h.sim.model.force('C01');
    await new Promise((r) => setTimeout(r, 300));
    expect(latchPulses(h)).toBe(pulsesBefore);
    expect((await h.call('GET', `/api/v1/cases/DISK-1`)).json.state).toBe('ready');

    // Room again (ops cleared the disk): the probe notices within seconds, without anyone trying a pickup.
    h.controller.cabinet.store.db.pragma('max_page_count = 1073741823');
    await until(async () => (await h!.call('GET', '/api/v1/health', undefined, null)).json.storage === 'ok', 6000, 'storage ok again');
    const alarms = await until(async () => {
      const open = (await h!.call('GET', '/api/v1/alarms')).json as { kind: string; compartment: string | null; data: Record<string, unknown> }[];
      return open.some((a) => a.kind === 'storage-failed') && open.some((a) => a.kind === 'door-forced') ? open : null;
    }, 3000, 'the storage alarm and the forced door');
    const storageAlarm = alarms.find((a) => a.kind === 'storage-failed')!;
    expect(storageAlarm.data).toMatchObject({ code: 'SQLITE_FULL' });
    expect(storageAlarm.data.refusedChanges).toBeGreaterThanOrEqual(3);
    expect(alarms.find((a) => a.kind === 'door-forced')!.compartment).toBe('C01');
    expect((await h.call('GET', '/api/v1/audit/verify')).json.ok).toBe(true);

    // And the applicant can now collect.
    const again = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(again.json).toMatchObject({ result: 'opened', compartments: ready.compartments });
    await until(() => h!.sim.model.snapshot()[ready.compartments[0]!]!.open, 3000, 'door open');
  });

  it('a read-only database (a failing card remounted read-only) is refused the same way and recovers the same way', async () => {
    h = await startHarness();
    const { db } = h.controller.cabinet.store;
    db.pragma('query_only = 1');
    const created = await h.call('POST', '/api/v1/cases', caseBody('RO-1', [{ type: 'seal', barcode: 'RO-SEAL' }]));
    expect(created.status).toBe(503);
    expect(created.json.error).toMatch(/SQLITE_READONLY/);
    expect((await h.call('GET', '/api/v1/health', undefined, null)).json).toMatchObject({ status: 'degraded', storage: 'failing' });
    db.pragma('query_only = 0');
    await until(async () => (await h!.call('GET', '/api/v1/health', undefined, null)).json.storage === 'ok', 6000, 'storage ok again');
    expect((await h.call('POST', '/api/v1/cases', caseBody('RO-1', [{ type: 'seal', barcode: 'RO-SEAL' }]))).status).toBe(201);
  });
});
