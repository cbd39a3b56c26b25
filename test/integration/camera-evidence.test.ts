import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNAPSHOT_ID, newSnapshotId, snapshotDay } from '../../controller/domain/snapshot-id.ts';
import type { KioskMessage } from '../../controller/events/bus.ts';
import { SnapshotFiles } from '../../controller/store/snapshot-files.ts';
import { jpegComment } from '../../simulator/still-jpeg.ts';
import { ID_SUFFIX, until } from '../support/cabinet-harness.ts';
import { startCameraHarness, type CameraHarness } from '../support/camera-harness.ts';
import { addUser, readyCase, simDoor } from '../support/cabinet-steps.ts';

// Camera evidence through real parts: the simulator's camera serves JPEGs behind HTTP Digest over a real
// socket, the controller takes a still at every door event of a pickup on the simulated cabinet (Firmata over
// TCP), and ops fetch the very bytes the camera served. The camera's cable is pulled, its login changed, and a
// required camera keeps applicants at the window until it answers again.

const events = (h: CameraHarness, type?: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => type === undefined || e.type === type);
const openAlarms = async (h: CameraHarness) => (await h.call('GET', '/api/v1/alarms')).json as { id: number; kind: string; data: Record<string, unknown> }[];
const health = async (h: CameraHarness) => (await h.call('GET', '/api/v1/health', undefined, null)).json;

/** The door's events from `after` on: the controller has seen it open, so a polled board would have too. */
async function openThenClose(h: CameraHarness, compartment: string, after: number): Promise<void> {
  await until(() => simDoor(h, compartment).open, 3000, `door ${compartment} open`);
  await until(() => events(h, 'door.opened').some((e) => e.seq > after && e.data.compartment === compartment), 3000, `the controller sees ${compartment} open`);
  h.sim.model.close(compartment);
  await until(() => events(h, 'door.closed').some((e) => e.seq > after && e.data.compartment === compartment), 3000, `the controller sees ${compartment} closed`);
}

describe('a pickup on a cabinet with a camera (HTTP Digest)', () => {
  let h: CameraHarness;
  let ops: string;
  let clerk: string;
  beforeAll(async () => {
    h = await startCameraHarness();
    ops = addUser(h, 'wang', 'ops');
    clerk = addUser(h, 'li', 'clerk');
    h.controller.cabinet.context.repos.users.add('seal-co', 'courier', 'courier-token-0123456789', Date.now(), ['seal']);
    await until(async () => (await health(h)).camera === 'ok', 3000, 'the camera seen at start');
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('door.opened and door.closed name a still each; ops get the very JPEG the camera served, not cached; clerks, couriers and anonymous callers do not', async () => {
    const ready = await readyCase(h, 'CAM-1', [{ type: 'seal', barcode: 'CAM1-SEAL', label: '公章' }]);
    const before = events(h).at(-1)!.seq;
    const pickup = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(pickup.json).toMatchObject({ result: 'opened', compartments: ready.compartments });
    const [door] = ready.compartments as [string];
    await openThenClose(h, door, before);
    await until(async () => (await h.call('GET', '/api/v1/cases/CAM-1')).json.state === 'collected', 3000, 'collected');

    const doorEvents = events(h).filter((e) => e.seq > before && (e.type === 'door.opened' || e.type === 'door.closed'));
    expect(doorEvents.map((e) => [e.type, e.data.compartment, e.data.purpose])).toEqual([['door.opened', door, 'pickup'], ['door.closed', door, 'pickup']]);
    const ids = doorEvents.map((e) => e.data.snapshot as string);
    for (const id of ids) expect(id).toMatch(SNAPSHOT_ID);
    expect(new Set(ids).size).toBe(2);

    for (const id of ids) {
      const still = await h.still(id, ops);
      expect(still.status, JSON.stringify(still.json)).toBe(200);
      // Read after the answer: the still of the door's closing may have been taken just now (the answer waits for it).
      const served = h.camera.served();
      expect(still.headers['content-type']).toBe('image/jpeg');
      expect(still.headers['cache-control']).toBe('no-store');
      expect(served.some((jpeg) => jpeg.equals(still.body)), 'the bytes the camera served').toBe(true);
      expect(jpegComment(still.body)).toMatch(/^govlocker simulated camera still #\d+ /);
      // Stored privately, under the id's day, sealed with the cabinet's key: the file alone shows nobody.
      const file = join(h.dataDir, 'snapshots', snapshotDay(id)!, `${id}.jpg.sealed`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const onDisk = readFileSync(file);
      expect(onDisk.includes(still.body.subarray(0, 64))).toBe(false);
      expect(onDisk.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
      expect(statSync(join(h.dataDir, 'snapshots', snapshotDay(id)!)).mode & 0o777).toBe(0o700);
    }
    // The open and the close are two different stills.
    const [opened, closed] = await Promise.all(ids.map((id) => h.still(id, ops)));
    expect(opened!.body.equals(closed!.body)).toBe(false);

    // Viewing is audited under the viewer's name.
    const viewed = h.controller.cabinet.store.audit.after(0, 10_000).filter((a) => a.action === 'snapshot.viewed');
    expect(viewed.filter((a) => a.actor === 'ops:wang').map((a) => a.data.snapshot)).toEqual(expect.arrayContaining(ids));

    expect((await h.still(ids[0]!, clerk)).status).toBe(403);
    // A still copied over another one's file does not open as that one: the answer says so.
    const [first, second] = ids as [string, string];
    const sealedPath = (id: string) => join(h.dataDir, 'snapshots', snapshotDay(id)!, `${id}.jpg.sealed`);
    copyFileSync(sealedPath(first), sealedPath(second));
    const swapped = await h.still(second, ops);
    expect(swapped.status).toBe(404);
    expect(swapped.json).toMatchObject({ code: 'snapshot-unreadable' });
    expect((await h.still(ids[0]!, 'courier-token-0123456789')).status).toBe(403);
    expect((await h.still(ids[0]!, null)).status).toBe(401);
  });

  it('an id that is no snapshot id is refused naming the field; one this cabinet never took is unknown', async () => {
    for (const bad of ['A01', '20261130-XYZ', '20261331-9f3c0a1b2c3d4e5f60718293', '..%2F..%2Fgovlocker.key']) {
      const answer = await h.still(bad);
      expect(answer.status, bad).toBe(400);
      expect(answer.json.issues.map((i: { path: string }) => i.path), bad).toContain('id');
    }
    const never = newSnapshotId(Date.now(), Buffer.alloc(12, 7));
    const answer = await h.still(never);
    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ code: 'unknown-snapshot', issues: [{ path: 'id' }] });
  });

  it('the camera\'s cable pulled: the door event still names a still, whose 404 says the capture failed and why; a camera-unreachable alarm, and camera.restored once it answers (the alarm stays for ops)', async () => {
    const pulled = await h.simPost('/sim/camera', { fault: 'down' });
    expect(pulled).toMatchObject({ status: 200, json: { fault: 'down' } });
    const before = events(h).at(-1)!.seq;
    const open = await h.call('POST', '/api/v1/compartments/C08/open', { reason: 'check the camera evidence' }, ops);
    expect(open.status, JSON.stringify(open.json)).toBe(202);
    await openThenClose(h, 'C08', before);

    const alarm = await until(async () => (await openAlarms(h)).find((a) => a.kind === 'camera-unreachable'), 3000, 'the camera-unreachable alarm');
    expect(alarm.data).toMatchObject({ reason: 'unreachable' });
    const down = events(h, 'camera.unreachable').filter((e) => e.seq > before);
    expect(down.map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'unreachable', alarmId: alarm.id })]);
    expect((await health(h)).camera).toBe('down');
    expect((await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^govlocker_camera_up\{[^}]*\} 0$/m);
    // Not required: nothing refuses service, and the cabinet is not degraded for it.
    expect((await health(h)).status).toBe('ok');

    const opened = events(h, 'door.opened').find((e) => e.seq > before)!;
    const still = await h.still(opened.data.snapshot as string, ops);
    expect(still.status).toBe(404);
    expect(still.json).toMatchObject({ code: 'capture-failed', reason: 'unreachable' });
    expect(still.json.error).toMatch(/capture failed \(unreachable\).*check its power, cable and address/);

    await h.simPost('/sim/camera', { fault: null });
    const restored = await until(() => events(h, 'camera.restored').find((e) => e.seq > before), 3000, 'camera.restored');
    expect(restored.data).toMatchObject({ alarmId: alarm.id, downSeconds: expect.any(Number) });
    expect((await health(h)).camera).toBe('ok');
    // Its cause has gone, but the alarm stays until ops acknowledge it, as every alarm does.
    expect((await openAlarms(h)).map((a) => a.id)).toContain(alarm.id);
    expect((await h.call('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: 'camera cable reseated' }, ops)).status).toBe(200);
  });

  it('a camera that hangs: the capture gives up after camera.timeoutMs and says so', async () => {
    await h.simPost('/sim/camera', { fault: 'hang' });
    const before = events(h).at(-1)!.seq;
    expect((await h.call('POST', '/api/v1/compartments/C07/open', { reason: 'check the camera timeout' }, ops)).status).toBe(202);
    await openThenClose(h, 'C07', before);
    const opened = events(h, 'door.opened').find((e) => e.seq > before)!;
    const still = await h.still(opened.data.snapshot as string, ops);
    expect(still.json).toMatchObject({ code: 'capture-failed', reason: 'timeout' });
    expect(still.json.error).toContain('did not answer within 1000 ms');
    expect(events(h, 'camera.unreachable').filter((e) => e.seq > before).map((e) => e.data.reason)).toEqual(['timeout']);
    await h.simPost('/sim/camera', { fault: null });
    await until(() => events(h, 'camera.restored').some((e) => e.seq > before), 3000, 'camera.restored');
    const alarm = (await openAlarms(h)).find((a) => a.kind === 'camera-unreachable')!;
    expect(alarm.data).toMatchObject({ reason: 'timeout' });
    expect((await h.call('POST', `/api/v1/alarms/${alarm.id}/ack`, {}, ops)).status).toBe(200);
  });

  it('the camera\'s password changed: the refusal names the wrong login, and neither password ever reaches a log, an event, the audit or an answer', async () => {
    const changed = 'New-cam-pass-42b7d0';
    await h.simPost('/sim/camera', { password: changed });
    const before = events(h).at(-1)!.seq;
    expect((await h.call('POST', '/api/v1/compartments/C06/open', { reason: 'check the camera login' }, ops)).status).toBe(202);
    await openThenClose(h, 'C06', before);
    const down = await until(() => events(h, 'camera.unreachable').find((e) => e.seq > before), 3000, 'camera.unreachable');
    expect(down.data).toMatchObject({ reason: 'wrong-credentials' });
    expect(down.data.message).toContain('check camera.username and camera.password');
    const alarm = (await openAlarms(h)).find((a) => a.kind === 'camera-unreachable')!;
    expect(alarm.data).toMatchObject({ reason: 'wrong-credentials' });
    const opened = events(h, 'door.opened').find((e) => e.seq > before)!;
    expect((await h.still(opened.data.snapshot as string, ops)).json).toMatchObject({ code: 'capture-failed', reason: 'wrong-credentials' });

    // The camera's admin puts the old password back: the next probe gets a still.
    await h.simPost('/sim/camera', { password: h.login.password });
    await until(() => events(h, 'camera.restored').some((e) => e.seq > before), 3000, 'camera.restored');

    const answers = await Promise.all(['/api/v1/health', '/api/v1/alarms', '/api/v1/audit', '/docs/json'].map(async (url) => JSON.stringify((await h.call('GET', url, undefined, ops)).json)));
    const sim = await fetch(`http://127.0.0.1:${h.sim.ports.control}/sim/state`).then((r) => r.text());
    const everything = [h.logs(), JSON.stringify(events(h)), ...answers, sim].join('\n');
    expect(h.logs()).toContain('camera unreachable');
    for (const secret of [h.login.password, changed]) expect(everything).not.toContain(secret);
  });
});

describe('a required camera', () => {
  let h: CameraHarness;
  beforeAll(async () => {
    h = await startCameraHarness({ camera: { required: true }, faultAtStart: 'down' });
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('down since start: the kiosk and the scanner refuse pickups (out-of-service, camera-unavailable, the window); back: camera.restored and the pickup opens; down again in a quiet hall: refused again', async () => {
    expect(await until(async () => (await health(h)).camera === 'down' && (await health(h)).status === 'degraded', 3000, 'the start probe failed')).toBe(true);
    const alarm = await until(async () => (await openAlarms(h)).find((a) => a.kind === 'camera-unreachable'), 3000, 'the alarm');
    // Clerks still load (their doors' stills fail and are noted); applicants are sent to the window.
    const ready = await readyCase(h, 'CAM-REQ', [{ type: 'seal', barcode: 'CAMREQ-SEAL' }]);
    const window = h.controller.cabinet.config.policy.helpWindow;
    const denied = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(denied.json).toEqual({ result: 'denied', reason: 'out-of-service', cause: 'camera-unavailable', window });
    const kiosk: KioskMessage[] = [];
    const off = h.controller.cabinet.bus.kiosk.add((m) => kiosk.push(m));
    h.sim.scanner.scan(ready.qr);
    await until(() => kiosk.find((m) => m.type === 'denied'), 3000, 'the scanner pickup refused');
    off();
    expect(kiosk.filter((m) => m.type === 'denied')).toEqual([expect.objectContaining({ reason: 'out-of-service', cause: 'camera-unavailable', window })]);
    // A document brought to the kiosk is refused the same way, before anything opens.
    expect((await h.call('POST', '/api/v1/kiosk/deposit', { caseNo: 'CAM-REQ', idSuffix: ID_SUFFIX }, null)).json).toEqual({ result: 'denied', reason: 'out-of-service', cause: 'camera-unavailable', window });
    expect(simDoor(h, ready.compartments[0]!).latchPulses).toBe(1); // the load's pulse only
    // Refused for the camera, not for the applicant: no failed attempt was counted.
    expect((await h.call('GET', '/api/v1/pickup-guard')).json).toMatchObject({ consecutiveFailures: 0 });

    await h.simPost('/sim/camera', { fault: null });
    const restored = await until(() => events(h, 'camera.restored').at(-1), 3000, 'camera.restored');
    expect(restored.data.alarmId).toBe(alarm.id);
    expect((await health(h)).status).toBe('ok');
    const before = events(h).at(-1)!.seq;
    const opened = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(opened.json).toMatchObject({ result: 'opened', compartments: ready.compartments });
    await openThenClose(h, ready.compartments[0]!, before);
    const still = await h.still(events(h, 'door.opened').find((e) => e.seq > before)!.data.snapshot as string);
    expect(still.status).toBe(200);

    // A required camera is watched while it is up too: one that dies in a quiet hall stops service before
    // the next applicant's doors open.
    const quiet = events(h).at(-1)!.seq;
    await h.simPost('/sim/camera', { fault: 'down' });
    await until(async () => (await health(h)).camera === 'down', 3000, 'the probe notices');
    expect(events(h).filter((e) => e.seq > quiet).map((e) => e.type)).toEqual(['camera.unreachable']);
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: '12345678', idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'denied', cause: 'camera-unavailable' });
  });
});

describe('keeping stills', () => {
  let h: CameraHarness;
  beforeAll(async () => {
    h = await startCameraHarness({ camera: { retentionDays: 30 } });
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('days older than camera.retentionDays are deleted, newer ones kept; an expired id says so; the sweep runs at start', async () => {
    const files = new SnapshotFiles(h.dataDir, h.controller.cabinet.keyring);
    const day = 86_400_000;
    const now = h.clock.now();
    const taken = (daysAgo: number) => newSnapshotId(now - daysAgo * day, Buffer.alloc(12, daysAgo));
    const [old, edge, recent] = [taken(40), taken(31), taken(30)];
    for (const id of [old, edge, recent]) await files.writeStill(id, Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    const deleted = await h.controller.cabinet.context.evidence.sweepRetention();
    expect(deleted).toEqual([snapshotDay(old), snapshotDay(edge)]);
    expect((await h.still(recent)).status).toBe(200);
    const expired = await h.still(old);
    expect(expired.status).toBe(404);
    expect(expired.json).toMatchObject({ code: 'snapshot-expired' });
    expect(expired.json.error).toContain('kept 30 days');

    // Two days later (the test's clock moved), the restarted cabinet sweeps at start: 30 days old is now 32.
    h.clock.advance(2 * day);
    await h.restartController();
    await until(async () => (await h.still(recent)).json?.code === 'snapshot-expired', 3000, 'the start sweep');
  });
});
