/**
 * The topic scheme, in one place (CONTRACT §4). Versioned from day one: a v2 scheme gets a new prefix, not
 * flags in payloads.
 */
export const TOPIC_ROOT = 'govlocker/v1';

/** Ops' commands, and `case`: the hall system's cases (CONTRACT §9). */
export const commandNames = ['open', 'disable', 'enable', 'status', 'retrieve', 'replay', 'ack', 'case'] as const;
export type CommandName = (typeof commandNames)[number];

export class Topics {
  readonly base: string;

  constructor(readonly cabinetId: string) {
    this.base = `${TOPIC_ROOT}/${cabinetId}`;
  }

  get status(): string {
    return `${this.base}/status`;
  }
  get events(): string {
    return `${this.base}/events`;
  }
  get notify(): string {
    return `${this.base}/notify`;
  }
  get reply(): string {
    return `${this.base}/reply`;
  }
  /** What the cabinet subscribes to. */
  get commands(): string {
    return `${this.base}/cmd/+`;
  }
  command(name: string): string {
    return `${this.base}/cmd/${name}`;
  }

  /** The command name of an incoming topic of this cabinet, or null. */
  commandName(topic: string): string | null {
    const prefix = `${this.base}/cmd/`;
    return topic.startsWith(prefix) && !topic.slice(prefix.length).includes('/') ? topic.slice(prefix.length) : null;
  }
}

/** For the fleet monitor: `govlocker/v1/{cabinetId}/{kind}` → its parts. */
export function parseTopic(topic: string): { cabinetId: string; kind: string; rest: string[] } | null {
  const parts = topic.split('/');
  if (parts.length < 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  return { cabinetId: parts[2]!, kind: parts[3]!, rest: parts.slice(4) };
}
