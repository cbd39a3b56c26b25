// `npm run docs:config`: writes docs/configuration.md, the reference of every configuration field, from the
// zod schema that parses the file (its JSON Schema: types, defaults, ranges, and each field's `.describe()`).
// test/unit/config-reference.test.ts fails when the file and the schema disagree.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../controller/config/schema.ts';

type Json = Record<string, any>;

/** A field applies only when a discriminating field (`hardware.driver`) has one of these values. */
interface Condition { readonly key: string; values: string[] }

export interface ConfigField {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
  when: Condition[];
}

export const REFERENCE_FILE = fileURLToPath(new URL('./configuration.md', import.meta.url));

function configJsonSchema(): Json {
  return z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def as { type: string; defaultValue?: unknown };
      // zod leaves out the default of a section that transforms somewhere inside (hardware: the bus); the
      // file may leave the section out all the same, so the reference says what it then gets.
      if (def.type === 'default' && !('default' in jsonSchema)) jsonSchema.default = JSON.parse(JSON.stringify(def.defaultValue));
      // A field that is always refused (the other driver's, e.g. `transport` with lock boards) is no field.
      if (def.type === 'undefined') jsonSchema.not = {};
    },
  }) as Json;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const bounded = (n: unknown): n is number => typeof n === 'number' && Math.abs(n) < SAFE;
const quote = (v: unknown) => JSON.stringify(v);

/** `anyOf: [X, {type: "null"}]` → X, nullable; the outer keywords (default, description) stay. */
function unwrapNullable(schema: Json): { s: Json; nullable: boolean } {
  const branches = schema.anyOf as Json[] | undefined;
  const rest = branches?.filter((b) => b.type !== 'null');
  if (!branches || !rest || rest.length !== branches.length - 1 || rest.length !== 1) return { s: schema, nullable: false };
  const { anyOf: _branches, ...outer } = schema;
  return { s: { ...rest[0], ...outer }, nullable: true };
}

function typeOf(s: Json, nullable: boolean): string {
  const base = s.oneOf || s.anyOf ? 'object'
    : s.type === 'array' ? `array of ${s.items?.type ?? 'any'}`
    : s.type ?? (s.const !== undefined ? typeof s.const : 'any');
  return nullable ? `${base} or null` : base;
}

function allowedOf(s: Json): string {
  const parts: string[] = [];
  if (s.enum) parts.push(s.enum.map(quote).join(', '));
  if (s.const !== undefined) parts.push(quote(s.const));
  if (bounded(s.minimum) && bounded(s.maximum)) parts.push(`${s.minimum}–${s.maximum}`);
  else {
    if (bounded(s.minimum)) parts.push(`≥ ${s.minimum}`);
    if (bounded(s.exclusiveMinimum)) parts.push(`> ${s.exclusiveMinimum}`);
    if (bounded(s.maximum)) parts.push(`≤ ${s.maximum}`);
  }
  if (s.minLength !== undefined && s.maxLength !== undefined) parts.push(`${s.minLength}–${s.maxLength} characters`);
  else if (s.minLength !== undefined) parts.push(`at least ${s.minLength} character${s.minLength === 1 ? '' : 's'}`);
  if (s.pattern) parts.push(`\`${s.pattern}\``);
  if (s.minItems !== undefined) parts.push(`at least ${s.minItems} entr${s.minItems === 1 ? 'y' : 'ies'}`);
  if (s.type === 'array' && s.items?.minLength) parts.push('each not empty');
  return parts.join('; ');
}

function defaultOf(s: Json, required: boolean): string {
  if (!('default' in s)) return required ? '—' : '(absent)';
  const text = quote(s.default);
  // A whole section's default is the sum of its fields' defaults, listed below it.
  return text.length > 60 ? "its fields' defaults" : `\`${text}\``;
}

/** Walks the JSON Schema into one entry per field; unions become conditions on their discriminating field. */
class Walker {
  readonly fields: ConfigField[] = [];
  /** Every value of each discriminating field, so a field that applies to all of them needs no condition. */
  readonly options = new Map<string, string[]>();

  object(s: Json, path: string, when: Condition[], skip?: string): void {
    const required = new Set<string>(s.required ?? []);
    for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
      if (name !== skip) this.field(path ? `${path}.${name}` : name, property, required.has(name), when);
    }
  }

  field(path: string, schema: Json, required: boolean, when: Condition[]): void {
    const { s, nullable } = unwrapNullable(schema);
    if (s.not && Object.keys(s.not).length === 0) return;
    this.fields.push({ path, type: typeOf(s, nullable), required, default: defaultOf(s, required), allowed: allowedOf(s), description: s.description ?? '', when });
    const variants = (s.oneOf ?? s.anyOf) as Json[] | undefined;
    if (variants) this.variants(variants, path, when);
    else if (s.type === 'object') this.object(s, path, when);
    else if (s.type === 'array' && s.items?.type === 'object') this.object(s.items, `${path}[]`, when);
  }

  variants(variants: Json[], path: string, when: Condition[]): void {
    const names = Object.keys(variants[0]!.properties ?? {});
    const key = names.find((name) => variants.every((v) => v.properties?.[name]?.const !== undefined));
    if (!key) throw new Error(`${path}: a union without a field that tells its variants apart`);
    const at = `${path}.${key}`;
    const values = variants.map((v) => String(v.properties[key].const));
    this.options.set(at, values);
    const withDefault = variants.map((v) => v.properties[key]).find((p: Json) => 'default' in p);
    const required = variants.every((v) => v.required?.includes(key));
    this.fields.push({
      path: at, type: 'string', required, default: withDefault ? defaultOf(withDefault, required) : defaultOf({}, required),
      allowed: values.map(quote).join(', '), description: variants[0]!.properties[key].description ?? '', when,
    });
    variants.forEach((variant, i) => this.object(variant, path, [...when, { key: at, values: [values[i]!] }], key));
  }
}

const sameEntry = (a: ConfigField, b: ConfigField) =>
  a.path === b.path && a.type === b.type && a.required === b.required && a.default === b.default && a.allowed === b.allowed && a.description === b.description;

/** The one condition in which two lists differ (same fields, one value apart), or -1 when they differ otherwise. */
function differsIn(a: Condition[], b: Condition[]): number {
  if (a.length !== b.length || a.some((c, i) => c.key !== b[i]!.key)) return -2;
  const apart = a.flatMap((c, i) => (c.values.join() === b[i]!.values.join() ? [] : [i]));
  return apart.length === 0 ? -1 : apart.length === 1 ? apart[0]! : -2;
}

/** Entries that read the same in several variants are one entry, with only the conditions that narrow it. */
function merge(fields: ConfigField[], options: Map<string, string[]>): ConfigField[] {
  const out: ConfigField[] = [];
  for (const field of fields) {
    const twin = out.find((o) => sameEntry(o, field) && differsIn(o.when, field.when) > -2);
    if (!twin) {
      out.push({ ...field, when: field.when.map((c) => ({ key: c.key, values: [...c.values] })) });
      continue;
    }
    const at = differsIn(twin.when, field.when);
    if (at >= 0) twin.when[at]!.values.push(...field.when[at]!.values.filter((v) => !twin.when[at]!.values.includes(v)));
  }
  for (const field of out) field.when = field.when.filter((c) => !(options.get(c.key) ?? []).every((v) => c.values.includes(v)));
  return out;
}

/** Every configuration field, in the schema's order. */
export function configFields(): ConfigField[] {
  const walker = new Walker();
  walker.object(configJsonSchema(), '', []);
  return merge(walker.fields, walker.options);
}

const cell = (text: string) => text.replace(/\|/g, '\\|');
const conditionText = (when: Condition[]) =>
  when.length ? `*Only when ${when.map((c) => `\`${c.key}\` is ${c.values.map((v) => `\`${quote(v)}\``).join(' or ')}`).join(' and ')}.* ` : '';

/** The Markdown reference (docs/configuration.md). */
export function renderConfigReference(fields: ConfigField[] = configFields()): string {
  const sections = new Map<string, ConfigField[]>();
  for (const field of fields) {
    const top = field.path.split(/[.[]/)[0]!;
    sections.set(top, [...(sections.get(top) ?? []), field]);
  }
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from controller/config/schema.ts and lockboard-schema.ts by `npm run docs:config`; edit the schema\'s descriptions, not this file. -->',
    '',
    'Every field of the cabinet\'s configuration file (`govlocker controller --config FILE`, JSON), as the schema that reads it',
    'sees it. Every field has a default or may be left out; a bad file stops start-up with every problem listed by path and',
    'fix. Environment variables override the file (README, Configuration). Unknown fields are refused by name.',
    '',
    'A path names a field inside its section (`hardware.bus.pollMs`); `[]` is each entry of a list (`compartments[].id`).',
    '"(absent)": the field may be left out, with the meaning its description gives. Durations are in the unit their name ends',
    'with (`Ms`, `Seconds`, `Hours`, `Days`).',
    '',
    ...[...sections.keys()].map((name) => `- [\`${name}\`](#${name.toLowerCase()})`),
  ];
  for (const [name, rows] of sections) {
    lines.push('', `## ${name}`, '', '| field | type | default | allowed | meaning |', '| --- | --- | --- | --- | --- |');
    for (const f of rows) {
      const type = f.required ? `${f.type}, required` : f.type;
      lines.push(`| \`${f.path}\` | ${type} | ${cell(f.default)} | ${cell(f.allowed)} | ${cell(conditionText(f.when) + f.description)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(REFERENCE_FILE, renderConfigReference());
  console.log(`wrote ${REFERENCE_FILE}`);
}
