import { z, type ZodType } from 'zod';
import { apiErrorSchema } from '../../http-common/error-shape.ts';
import { SESSION_COOKIE } from '../session-cookie.ts';
import type { CatalogRoute } from './route-catalog.ts';
import type { OperationNote } from './operations.ts';

// The OpenAPI 3.1 document of the admin API, generated from the routes as registered: their zod schemas (the
// same ones that validate requests), their sign-in hooks, and a few words per endpoint (./operations.ts).

type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description: string;
  tags: string[];
  security: Record<string, string[]>[];
  'x-roles'?: readonly string[];
  'x-clients'?: string;
  /** The sign-in (`starts`) and sign-out (`ends`) of a person's session. */
  'x-session'?: 'starts' | 'ends';
  parameters?: { name: string; in: 'path' | 'query'; required: boolean; description?: string; schema: JsonSchema }[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/** The kiosk endpoints need no sign-in; their plugin answers only the addresses in `api.kioskClients`. */
const KIOSK_PREFIX = '/api/v1/kiosk/';
/** Sign-in (POST) and sign-out (DELETE) with a name and a password. */
const SESSION_PATH = '/api/v1/session';
const SAME_ORIGIN = 'With the cookie, a change must come from the cabinet\'s own pages (`Sec-Fetch-Site: same-origin` or none, `Origin` this server or none); from another site it is refused (403 `cross-site`).';

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of what a client sends (`input`) or receives (`output`). */
function jsonSchemaOf(schema: ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return json;
}

/** `/cases/:caseNo` → `/cases/{caseNo}`. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

const camel = (segment: string) => segment.replace(/^:/, '').replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase());
/** `POST /api/v1/cases/:caseNo/notify` → `postCasesCaseNoNotify`. */
const operationId = (method: string, url: string) => method.toLowerCase() + url.split('/').slice(3).map(camel).join('');

function parameters(schema: ZodType | undefined, where: 'path' | 'query'): NonNullable<OpenApiOperation['parameters']> {
  if (!schema) return [];
  const json = jsonSchemaOf(schema, 'input');
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries((json.properties ?? {}) as Record<string, JsonSchema>).map(([name, property]) => ({
    name, in: where, required: where === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

/** A body the route also takes absent (a bare POST) is optional; its null branch is left out of the schema. */
function requestBody(schema: ZodType | undefined): OpenApiOperation['requestBody'] {
  if (!schema) return undefined;
  const optional = schema.safeParse(undefined).success || schema.safeParse(null).success;
  let json = jsonSchemaOf(schema, 'input');
  const branches = json.anyOf as JsonSchema[] | undefined;
  const notNull = branches?.filter((branch) => branch.type !== 'null');
  if (branches && notNull && notNull.length < branches.length) json = notNull.length === 1 ? notNull[0]! : { anyOf: notNull };
  return { required: !optional, content: { 'application/json': { schema: json } } };
}

/** Who may call the route, as the security requirement, the `x-` extensions and a sentence. */
function access(route: CatalogRoute): Pick<OpenApiOperation, 'security' | 'x-roles' | 'x-clients' | 'x-session'> & { says: string } {
  if (route.roles && route.sessionOnly) {
    return { security: [{ sessionCookie: [] }], 'x-roles': route.roles, says: `Roles: ${route.roles.join(', ')}. The session cookie of a person signed in with a password (also one who must change it); no bearer token. ${SAME_ORIGIN}` };
  }
  if (route.roles) {
    const security: OpenApiOperation['security'] = [{ bearerAuth: [] }, { sessionCookie: [] }];
    if (route.queryToken) security.push({ tokenQuery: [] });
    const query = route.queryToken ? ' (or `?token=`, for EventSource)' : '';
    return { security, 'x-roles': route.roles, says: `Roles: ${route.roles.join(', ')}. Bearer token${query}, or the session cookie of a person signed in with a password.${route.method === 'GET' ? '' : ` ${SAME_ORIGIN}`}` };
  }
  if (route.url === SESSION_PATH) {
    return route.method === 'POST'
      ? { security: [], 'x-session': 'starts', says: `No sign-in: this is where a person signs in with a name and a password; the answer sets the session cookie. ${SAME_ORIGIN}` }
      : { security: [], 'x-session': 'ends', says: 'Ends the session the cookie names (none: nothing to end) and removes the cookie. From the cabinet\'s own pages only, like every change signed in by the cookie.' };
  }
  if (route.url.startsWith(KIOSK_PREFIX)) {
    return { security: [], 'x-clients': 'api.kioskClients', says: "No sign-in: answers only the cabinet's own screen, the client addresses in `api.kioskClients` (loopback by default)." };
  }
  return { security: [], says: 'No sign-in.' };
}

/** The error answers: validation and sign-in ones from the route itself, the cabinet's refusals from the notes. */
function errorAnswers(route: CatalogRoute, note: OperationNote | undefined): OpenApiOperation['responses'] {
  const reasons = new Map<number, string[]>();
  const add = (status: number, reason: string) => reasons.set(status, [...(reasons.get(status) ?? []), reason]);
  const { params, querystring, body } = route.schema;
  if (params || querystring || body) add(400, 'invalid input: `issues` names each field at fault');
  if (route.roles && route.sessionOnly) {
    add(401, 'no session cookie, or a session that has ended');
    add(403, 'a change from another site (`cross-site`)');
    add(429, 'too many wrong tokens or passwords from this address: wait `retry-after` seconds');
  } else if (route.roles) {
    add(401, 'no token or session cookie, an unknown token, or a session that has ended (signed out, idle, too old, a restart)');
    add(403, `a known token or session of another role (this needs ${route.roles.join(' or ')}); a person who must change their password first (\`password-change-required\`)${route.method === 'GET' ? '' : '; a change signed in by the cookie from another site (`cross-site`)'}`);
    add(429, 'too many wrong tokens or passwords from this address: wait `retry-after` seconds');
  } else if (route.url === SESSION_PATH) {
    add(403, 'from another site (`cross-site`)');
  } else if (route.url.startsWith(KIOSK_PREFIX)) {
    add(403, 'the client address is not in `api.kioskClients`');
  }
  for (const [status, codes] of Object.entries(note?.refusals ?? {})) add(Number(status), codes);
  if (route.method !== 'GET' && !note?.storageFailureInAnswer) add(503, '`storage-unavailable`: the database cannot be written (`retry-after`); nothing was changed');
  return Object.fromEntries([...reasons].sort(([a], [b]) => a - b).map(([status, why]) => [String(status), { description: why.join('; '), content: { 'application/json': { schema: ERROR_REF } } }]));
}

function successAnswer(route: CatalogRoute, note: OperationNote | undefined): OpenApiOperation['responses'] {
  const status = String(note?.status ?? 200);
  const declared = route.schema.response?.[status];
  const media = note?.media ?? (note?.stream ? 'text/event-stream' : 'application/json');
  const schema = declared ? jsonSchemaOf(declared, 'output') : note?.stream ? { type: 'string' } : note?.media ? { type: 'string', contentMediaType: note.media } : undefined;
  return { [status]: { description: note?.answer ?? 'success', content: { [media]: schema ? { schema } : {} } } };
}

function operation(route: CatalogRoute, note: OperationNote | undefined): OpenApiOperation {
  const { says, ...who } = access(route);
  const tag = route.url.split('/')[3] ?? 'api';
  const params = [...parameters(route.schema.params, 'path'), ...parameters(route.schema.querystring, 'query')];
  const body = requestBody(route.schema.body);
  return {
    operationId: operationId(route.method, route.url),
    ...(note ? { summary: note.summary } : {}),
    description: [says, note?.description].filter(Boolean).join(' '),
    tags: [tag],
    ...who,
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: { ...successAnswer(route, note), ...errorAnswers(route, note) },
  };
}

export interface DocumentOptions {
  readonly version: string;
  readonly notes: Readonly<Record<string, OperationNote>>;
}

export function openApiDocument(routes: readonly CatalogRoute[], { version, notes }: DocumentOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    (paths[openApiPath(route.url)] ??= {})[route.method.toLowerCase()] = operation(route, notes[`${route.method} ${route.url}`]);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'govlocker admin API',
      version,
      description: 'The cabinet\'s clerk, ops and kiosk API, JSON under `/api/v1`. Staff send `Authorization: Bearer <token>`, or sign in with a name and a password (`POST /api/v1/session`) and send the session cookie it sets; each operation names the roles it lets in (`x-roles`; `admin` may do everything). Every error answer is `{"error","issues":[{"path","message"}]}`, and the cabinet\'s refusals add a stable `code`. Nothing is half-written on any error. Also served: `GET /metrics` (Prometheus text) and this document at `GET /docs/json`, readable at `GET /docs`.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchemaOf(apiErrorSchema, 'output') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A staff token (`govlocker users add`); only its SHA-256 is stored.' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The session of a person signed in with a name and a password (`POST /api/v1/session`): HttpOnly, SameSite=Strict, Secure over HTTPS; kept in memory only, so it ends with a restart, after `staff.sessionIdleMinutes` without activity or `staff.sessionHours` after the sign-in.' },
        tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The same token as `?token=`, taken only by the event streams (EventSource cannot send headers).' },
      },
    },
  };
}
