import { describe, expect, it } from 'vitest';
import { cabinetsOfClientId, filtersOverlap, grantsOf, mayPublish, mayRead, maySubscribe, topicMatches } from '../../bin/broker-acl.ts';

// The embedded broker's ACL (deploy/mosquitto/acl as code), rule by rule.

const T = (id: string, rest: string) => `govlocker/v1/${id}/${rest}`;

describe('the embedded broker ACL', () => {
  it('confines a cabinet to its own subtree: it writes status, events, notify and reply and reads only its commands', () => {
    const a = grantsOf('GZ-BY-0001');
    for (const kind of ['status', 'events', 'notify', 'reply']) {
      expect(mayPublish(a, T('GZ-BY-0001', kind), false)).toBe(true);
      expect(mayPublish(a, T('GZ-BY-0002', kind), false)).toBe(false);
    }
    expect(mayPublish(a, T('GZ-BY-0001', 'cmd/open'), false)).toBe(false);
    expect(mayRead(a, T('GZ-BY-0001', 'cmd/open'))).toBe(true);
    expect(mayRead(a, T('GZ-BY-0002', 'cmd/open'))).toBe(false);
    expect(mayRead(a, T('GZ-BY-0001', 'notify'))).toBe(false);
    expect(maySubscribe(a, '#')).toBe(true); // granted, but every delivery is checked: only its commands arrive
    expect(maySubscribe(a, T('GZ-BY-0002', '#'))).toBe(false);
  });

  it('gives ops status, events, replies and commands but never notify; the SMS gateway notify alone; the monitor replay and ack', () => {
    const ops = grantsOf('ops.central');
    expect(mayRead(ops, T('X', 'events'))).toBe(true);
    expect(mayRead(ops, T('X', 'notify'))).toBe(false);
    expect(maySubscribe(ops, 'govlocker/v1/+/notify')).toBe(false);
    expect(mayPublish(ops, T('X', 'cmd/open'), false)).toBe(true);
    expect(mayPublish(ops, T('X', 'status'), true)).toBe(false);
    const sms = grantsOf('ops.sms-gateway');
    expect(mayRead(sms, T('X', 'notify'))).toBe(true);
    expect(mayRead(sms, T('X', 'status'))).toBe(false);
    expect(mayPublish(sms, T('X', 'notify'), false)).toBe(false);
    const monitor = grantsOf('ops.fleet-monitor');
    expect(mayPublish(monitor, T('X', 'cmd/replay'), false)).toBe(true);
    expect(mayPublish(monitor, T('X', 'cmd/ack'), false)).toBe(true);
    expect(mayPublish(monitor, T('X', 'cmd/open'), false)).toBe(false);
    expect(grantsOf('ops.root')).toEqual({ read: [], write: [] });
    const hall = grantsOf('hall.case-system');
    expect(mayPublish(hall, T('X', 'cmd/case'), false)).toBe(true);
    expect(mayPublish(hall, T('X', 'cmd/open'), false)).toBe(false);
    expect(mayRead(hall, T('X', 'reply'))).toBe(true);
    for (const kind of ['status', 'events', 'notify']) expect(mayRead(hall, T('X', kind))).toBe(false);
  });

  it('lets only a status be retained (a retained command would reach every later subscriber)', () => {
    expect(mayPublish(grantsOf('A'), T('A', 'status'), true)).toBe(true);
    expect(mayPublish(grantsOf('A'), T('A', 'events'), true)).toBe(false);
    expect(mayPublish(grantsOf('ops.central'), T('A', 'cmd/status'), true)).toBe(false);
  });

  it('matches topic filters as MQTT does, $-topics included', () => {
    expect(topicMatches('govlocker/v1/+/status', 'govlocker/v1/A/status')).toBe(true);
    expect(topicMatches('govlocker/v1/+/status', 'govlocker/v1/A/B/status')).toBe(false);
    expect(topicMatches('govlocker/#', 'govlocker')).toBe(true);
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(filtersOverlap('govlocker/v1/+/notify', 'govlocker/v1/#')).toBe(true);
    expect(filtersOverlap('govlocker/v1/+/notify', 'govlocker/v1/+/status')).toBe(false);
    expect(filtersOverlap('$SYS/#', '#')).toBe(false);
  });

  it("names the cabinets whose session a client id would take over", () => {
    expect(cabinetsOfClientId('govlocker-DEMO-01')).toContain('DEMO-01');
    expect(cabinetsOfClientId('govlocker-sim-SIM-0001')).toContain('SIM-0001');
    expect(cabinetsOfClientId('DEMO-01')).toEqual(['DEMO-01']);
    expect(cabinetsOfClientId('ops console 1')).toEqual([]);
  });
});
