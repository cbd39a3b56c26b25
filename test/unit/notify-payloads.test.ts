import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { credentialNotifySchema, notifyKinds, notifyPayloadSchema, readQueuedNotify, reminderNotifySchema } from '../../controller/domain/notify.ts';

// What the SMS gateway reads on `…/notify` is told apart by `kind` (CONTRACT §9). docs/asyncapi.yaml is what the
// gateway's developers read: these checks keep its notify kinds, their fields and its examples the code's own.

const ROOT = resolve(import.meta.dirname, '../..');
const doc = parse(readFileSync(join(ROOT, 'docs/asyncapi.yaml'), 'utf8')) as any;
const deref = (ref: string): any => ref.slice(2).split('/').reduce((node: any, part) => node?.[part], doc);

const documentedKinds = (): Map<string, any> => {
  const notify = doc.components.schemas.Notify;
  expect(notify.discriminator.propertyName).toBe('kind');
  return new Map(notify.oneOf.map((branch: { $ref: string }) => {
    const schema = deref(branch.$ref);
    return [schema.properties.kind.const as string, schema];
  }));
};

describe('…/notify payloads', () => {
  it('docs/asyncapi.yaml documents exactly the kinds the cabinet sends, each with the fields the code writes', () => {
    const kinds = documentedKinds();
    expect([...kinds.keys()].sort()).toEqual([...notifyKinds].sort());
    const codeSchemas = { credential: credentialNotifySchema, reminder: reminderNotifySchema };
    for (const kind of notifyKinds) {
      const documented = kinds.get(kind);
      const fields = Object.keys(codeSchemas[kind].shape).sort();
      expect([...documented.required].sort(), kind).toEqual(fields);
      expect(Object.keys(documented.properties).sort(), kind).toEqual(fields);
      expect(documented.additionalProperties, kind).toBe(false);
    }
    // A reminder never carries the code or the QR.
    expect(kinds.get('reminder').properties).not.toHaveProperty('code');
    expect(kinds.get('reminder').properties).not.toHaveProperty('qr');
  });

  it("the document's examples are payloads the cabinet would send, one of each kind", () => {
    const examples = doc.components.messages.notify.examples.map((e: { payload: unknown }) => notifyPayloadSchema.parse(e.payload));
    expect(examples.map((e: { kind: string }) => e.kind).sort()).toEqual([...notifyKinds].sort());
    expect(doc.channels.notify.description).toContain('`credential`');
    expect(doc.channels.notify.description).toContain('`reminder`');
  });

  it('a message queued before kinds existed goes out as a credential; anything else malformed is refused', () => {
    const old = { caseNo: 'OLD-1', phone: '13800138000', code: '12345678', qr: `GLQ1.${'a'.repeat(24)}`, expiresAt: '2026-11-30T10:00:00.000Z' };
    expect(readQueuedNotify(old)).toEqual({ kind: 'credential', ...old });
    expect(() => readQueuedNotify({ kind: 'reminder', ...old })).toThrow();
    expect(() => readQueuedNotify({ kind: 'gossip', caseNo: 'X' })).toThrow();
  });
});
