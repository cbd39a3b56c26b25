import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { canonicalJson } from '../../controller/domain/canonical-json.ts';
import { createHmac } from 'node:crypto';
import { REQUEST_ID, signCommand, verifyCommand, type SignedCommand } from '../../controller/mqtt/command-auth.ts';
import { REFUSAL_INTERVAL_MS, REFUSAL_REPLIES_PER_INTERVAL, RefusalSummaries, type RefusalSummary } from '../../controller/events/refusal-summaries.ts';
import { commandNames, Topics } from '../../controller/mqtt/topics.ts';

// docs/asyncapi.yaml is for ops and integrators; these checks keep it true to the code: every topic the cabinet
// uses, every command, every event type the controller emits, and a signed example that really verifies.

const ROOT = resolve(import.meta.dirname, '../..');
const text = readFileSync(join(ROOT, 'docs/asyncapi.yaml'), 'utf8');
const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
const doc = parsed.toJS() as any;

/** CONTRACT §4's event types ("at least"). */
const CONTRACT_EVENT_TYPES = [
  'case.created', 'item.loaded', 'case.ready', 'pickup.completed', 'pickup.denied', 'pickup.lockout', 'pickup.interrupted',
  'door.opened', 'door.closed', 'door.left_open', 'door.forced', 'door.jammed', 'compartment.disabled', 'compartment.enabled',
  'hardware.lost', 'hardware.restored', 'case.overdue', 'case.retrieved', 'cmd.executed', 'cmd.refused', 'rating.submitted',
];

const channels = (): { key: string; address: string; channel: any }[] =>
  Object.entries(doc.channels as Record<string, any>).map(([key, channel]) => ({ key, address: channel.address as string, channel }));

const channelAt = (address: string) => channels().find((c) => c.address === address)?.channel;

/** Resolves a local `$ref` ("#/components/…"). */
function deref(ref: string): any {
  expect(ref.startsWith('#/'), ref).toBe(true);
  return ref.slice(2).split('/').reduce((node: any, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

/** The event types the controller's source emits: the string literals in the first argument of ctx.event(…). */
function emittedEventTypes(): Set<string> {
  const types = new Set<string>();
  for (const dir of ['controller', 'admin-api']) {
    for (const file of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) {
      if (!file.endsWith('.ts')) continue;
      const source = readFileSync(join(ROOT, dir, file), 'utf8');
      for (const call of source.matchAll(/ctx\.event\(([^,]+),/g)) {
        for (const literal of call[1]!.matchAll(/'([a-z_]+(?:\.[a-z_]+)+)'/g)) types.add(literal[1]!);
      }
    }
  }
  return types;
}

describe('docs/asyncapi.yaml', () => {
  it('is YAML without errors or duplicate keys, an AsyncAPI 3.0 document', () => {
    expect(parsed.errors.map((e) => e.message)).toEqual([]);
    expect(parsed.warnings.map((e) => e.message)).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.title).toBeTruthy();
    expect(Object.keys(doc.operations).length).toBeGreaterThan(0);
  });

  it('has a channel for every topic in controller/mqtt/topics.ts, and no other', () => {
    const t = new Topics('{cabinetId}');
    const topics = [t.status, t.events, t.notify, t.reply, t.command('{name}')];
    const addresses = channels().map((c) => c.address);
    for (const topic of topics) expect(addresses, topic).toContain(topic);
    expect([...addresses].sort()).toEqual([...topics].sort());
    // What the cabinet subscribes to is the command channel with any name.
    expect(t.command('{name}').replace('{name}', '+')).toBe(t.commands);
    for (const { address, channel } of channels()) {
      for (const param of address.match(/\{(\w+)\}/g) ?? []) expect(channel.parameters?.[param.slice(1, -1)], `${address}: ${param}`).toBeTruthy();
    }
  });

  it('documents every command with its args, and no other', () => {
    const command = channelAt(new Topics('{cabinetId}').command('{name}'));
    expect(command.parameters.name.enum).toEqual([...commandNames]);
    expect(Object.keys(command.messages).sort()).toEqual([...commandNames].sort());
    for (const name of commandNames) {
      const message = deref(command.messages[name].$ref);
      const schema = deref(message.payload.$ref);
      const own = schema.allOf.find((part: any) => !part.$ref);
      expect(own.properties.cmd.const, name).toBe(name);
      expect(own.properties.args.type, `${name} args`).toBe('object');
      expect(schema.allOf.some((part: any) => part.$ref === '#/components/schemas/SignedCommand'), name).toBe(true);
    }
  });

  it('lists the contract event types and every type the controller emits', () => {
    const known = doc.components.schemas.EventType.anyOf[0].enum as string[];
    for (const type of CONTRACT_EVENT_TYPES) expect(known, type).toContain(type);
    const emitted = emittedEventTypes();
    expect(emitted.size).toBeGreaterThan(20);
    for (const type of emitted) expect(known, `${type} is emitted by the controller but not in docs/asyncapi.yaml`).toContain(type);
    expect(new Set(known).size).toBe(known.length);
  });

  it('states QoS, retain and the v5 message expiry of each operation', () => {
    const op = (channelKey: string, action: 'send' | 'receive') =>
      Object.values(doc.operations as Record<string, any>).find((o) => o.channel.$ref === `#/channels/${channelKey}` && o.action === action);
    for (const [key, action] of [['status', 'send'], ['events', 'send'], ['notify', 'send'], ['reply', 'send'], ['command', 'receive']] as const) {
      expect(op(key, action)?.bindings?.mqtt?.qos, `${action} ${key}`).toBe(1);
    }
    expect(op('status', 'send').bindings.mqtt.retain).toBe(true);
    for (const key of ['events', 'notify', 'reply']) expect(op(key, 'send').bindings.mqtt.retain).toBe(false);
    expect(op('reply', 'send').bindings.mqtt.messageExpiryInterval).toBe(300);
    expect(op('notify', 'send').bindings.mqtt.messageExpiryInterval).toBeTruthy();
    expect(doc.servers.cabinets.bindings.mqtt.lastWill).toMatchObject({ topic: new Topics('{cabinetId}').status, qos: 1, retain: true });
  });

  it("its signed example verifies with the cabinet's own code, and signing its body gives the same sig", () => {
    const example = doc.components.messages.cmdOpen.examples[0];
    const key = Buffer.from(example['x-test-key'] as string, 'hex');
    const payload = example.payload as SignedCommand;
    const { sig, ...body } = payload;
    expect(signCommand(key, body).sig).toBe(sig);
    const verified = verifyCommand(key, 'open', Buffer.from(JSON.stringify(payload)), Date.parse(payload.issuedAt) + 1000);
    expect(verified).toMatchObject({ ok: true });
    // The canonical text the summary shows is what gets signed.
    expect(example.summary).toContain(canonicalJson(body));
  });

  it('requires cmd in every command, as the code does: a body signed without it, or for another command, is refused naming cmd', () => {
    const envelope = doc.components.schemas.SignedCommand;
    expect(envelope.required).toContain('cmd');
    expect(envelope.properties.requestId.pattern).toBe(REQUEST_ID.source);
    const example = doc.components.messages.cmdOpen.examples[0];
    const key = Buffer.from(example['x-test-key'] as string, 'hex');
    const { sig: _sig, cmd: _cmd, ...withoutCmd } = example.payload as SignedCommand;
    const unnamed = { ...withoutCmd, sig: createHmac('sha256', key).update(canonicalJson(withoutCmd)).digest('hex') };
    const at = Date.parse(withoutCmd.issuedAt) + 1000;
    const refused = verifyCommand(key, 'open', Buffer.from(JSON.stringify(unnamed)), at);
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/^malformed: cmd: required: the command's name/) });
    const documented = doc.components.messages.replyRefused.examples.map((e: any) => e.payload.error as string);
    expect(documented).toContain(refused.ok ? '' : refused.error);
    const { sig: _sig2, ...body } = example.payload as SignedCommand;
    const elsewhere = signCommand(key, { ...body, cmd: 'disable' });
    expect(verifyCommand(key, 'open', Buffer.from(JSON.stringify(elsewhere)), at)).toMatchObject({ ok: false, error: expect.stringMatching(/^cmd: signed as "disable"/) });
  });

  it('describes the summed-up cmd.refused of unverified commands as the cabinet writes it, with its limits', () => {
    const written: RefusalSummary[] = [];
    const summaries = new RefusalSummaries({ write: (s) => written.push(s), now: () => Date.parse('2026-11-23T10:00:00Z'), onWriteError: (e) => { throw e; } });
    summaries.refuse({ name: 'open', error: 'bad signature', requestId: 'abcdefgh-1' });
    summaries.refuse({ name: 'open', error: 'bad signature', requestId: null });
    summaries.stop();
    const schema = doc.components.schemas.CmdRefusedSummaryData;
    for (const summary of written) {
      expect(Object.keys(summary).sort()).toEqual([...schema.required].sort());
      for (const key of Object.keys(summary.sample)) expect(schema.properties.sample.properties, key).toHaveProperty(key);
    }
    expect(written.map((s) => s.count)).toEqual([1, 1]);
    const text = (doc.info.description as string).replace(/\s+/g, ' ');
    expect(text).toContain(`one event and one audit entry per ${REFUSAL_INTERVAL_MS / 1000} s`);
    expect(text).toContain(`At most ${REFUSAL_REPLIES_PER_INTERVAL} of them per ${REFUSAL_INTERVAL_MS / 1000} s get a reply`);
  });

  it('has no dangling $ref', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(30);
    for (const ref of refs) expect(deref(ref), ref).toBeDefined();
  });
});
