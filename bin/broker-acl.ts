import { TOPIC_ROOT } from '../controller/mqtt/topics.ts';

// Who may read and write what on the embedded broker: the rights of deploy/mosquitto/acl, written as code so
// the demo has the same shape as central ops' Mosquitto. Everything not granted here is refused.

/** The service accounts (a dot in the name: no cabinet id can contain one, so nobody registers a cabinet under them). */
export const OPS_ACCOUNT = 'ops.central';
export const SMS_GATEWAY_ACCOUNT = 'ops.sms-gateway';
export const FLEET_MONITOR_ACCOUNT = 'ops.fleet-monitor';
/** The hall's case system (办件系统), sending cases over MQTT: `cmd/case` and its replies, nothing else. */
export const HALL_SYSTEM_ACCOUNT = 'hall.case-system';
export const SERVICE_ACCOUNTS = [OPS_ACCOUNT, SMS_GATEWAY_ACCOUNT, FLEET_MONITOR_ACCOUNT, HALL_SYSTEM_ACCOUNT] as const;

/** A cabinet account's name is its cabinet id (controller/config/schema.ts). */
export const CABINET_ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export interface Grants {
  /** Topic filters the account may receive messages on. */
  readonly read: readonly string[];
  /** Topic filters the account may publish to. */
  readonly write: readonly string[];
}

const NOTHING: Grants = { read: [], write: [] };
const ALL_CABINETS = `${TOPIC_ROOT}/+`;

const SERVICE_GRANTS: Readonly<Record<(typeof SERVICE_ACCOUNTS)[number], Grants>> = {
  // Ops: every cabinet's status, events and replies, and commands to any cabinet (each still signed with the
  // cabinet's own key). Not notify: the full phone number and pickup code go to the SMS gateway alone.
  [OPS_ACCOUNT]: {
    read: [`${ALL_CABINETS}/status`, `${ALL_CABINETS}/events`, `${ALL_CABINETS}/reply`, '$SYS/#'],
    write: [`${ALL_CABINETS}/cmd/+`],
  },
  [SMS_GATEWAY_ACCOUNT]: { read: [`${ALL_CABINETS}/notify`], write: [] },
  // The fleet monitor sends only the two commands its page has buttons for: a gap's replay and an alarm's ack.
  [FLEET_MONITOR_ACCOUNT]: {
    read: [`${ALL_CABINETS}/status`, `${ALL_CABINETS}/events`, `${ALL_CABINETS}/reply`, '$SYS/#'],
    write: [`${ALL_CABINETS}/cmd/replay`, `${ALL_CABINETS}/cmd/ack`],
  },
  // The hall system creates, amends and cancels cases (each still signed with the cabinet's key) and reads the
  // replies; it cannot open a door, see events, statuses or a phone number on notify.
  [HALL_SYSTEM_ACCOUNT]: { read: [`${ALL_CABINETS}/reply`], write: [`${ALL_CABINETS}/cmd/case`] },
};

/** An account's rights: a service's own, a cabinet's own subtree (writes its status/events/notify/reply, reads its commands). */
export function grantsOf(account: string): Grants {
  if (Object.hasOwn(SERVICE_GRANTS, account)) return SERVICE_GRANTS[account as keyof typeof SERVICE_GRANTS];
  if (!CABINET_ACCOUNT.test(account)) return NOTHING;
  const own = `${TOPIC_ROOT}/${account}`;
  return { read: [`${own}/cmd/+`], write: [`${own}/status`, `${own}/events`, `${own}/notify`, `${own}/reply`] };
}

/** Whether the concrete `topic` matches the MQTT topic `filter` (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1]: wildcards at the first level never match topics starting with "$".
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether some topic matches both filters (a subscription that could receive something the account may read). */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  if ((a.startsWith('$') && (y[0] === '+' || y[0] === '#')) || (b.startsWith('$') && (x[0] === '+' || x[0] === '#'))) return false;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
  return true;
}

export const mayRead = (grants: Grants, topic: string): boolean => grants.read.some((f) => topicMatches(f, topic));

/** Retained messages only on `…/status`: a retained command or event would be handed to every later subscriber. */
export const mayPublish = (grants: Grants, topic: string, retain: boolean): boolean =>
  grants.write.some((f) => topicMatches(f, topic)) && (!retain || topicMatches(`${ALL_CABINETS}/status`, topic));

/**
 * A subscription is granted when it can match something the account may read (each message is checked again
 * on delivery, so `govlocker/v1/#` gives ops status, events and replies but never a notify); refused otherwise.
 */
export const maySubscribe = (grants: Grants, filter: string): boolean => grants.read.some((f) => filtersOverlap(f, filter));

/**
 * The cabinets a client id belongs to: the id itself, the controller's (`govlocker-<id>`,
 * controller/mqtt/central-ops.ts) and a simulated cabinet's (`govlocker-sim-<id>`). Whoever connects with one of
 * them takes over that session and its last will, so only that cabinet's own account may (the broker checks
 * these candidates against the cabinet accounts it knows).
 */
export function cabinetsOfClientId(clientId: string): string[] {
  const candidates = [clientId, /^govlocker-(.+)$/.exec(clientId)?.[1], /^govlocker-sim-(.+)$/.exec(clientId)?.[1]];
  return candidates.filter((id): id is string => id !== undefined && CABINET_ACCOUNT.test(id));
}
