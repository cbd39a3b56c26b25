import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationNotes } from '../../admin-api/openapi/operations.ts';
import { itemTypes } from '../../controller/domain/types.ts';
import { pageHeaders } from '../../http-common/page-headers.ts';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { startHarness, type Harness } from '../support/cabinet-harness.ts';
import { addUser } from '../support/cabinet-steps.ts';

// GET /docs/json describes the admin API from its own routes (CONTRACT §8). These checks hold the document to
// the server: every route is in it, its bodies are the validators' own, and who may call what is what the
// server enforces. GET /docs shows it in a browser.

let h: Harness;
let doc: any;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  tokens.clerk = addUser(h, 'docs-clerk', 'clerk');
  tokens.ops = addUser(h, 'docs-ops', 'ops');
  const answer = await h.controller.api.inject({ method: 'GET', url: '/docs/json' });
  expect(answer.statusCode).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  doc = answer.json();
});
afterAll(async () => {
  await h?.stop();
});

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every operation of the document as `METHOD /path/:param`, the way fastify spells routes. */
function documented(): { key: string; path: string; method: string; op: any }[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, path, method, op })));
}

/** The server's own route table (fastify's printRoutes tree), independent of the document's route collector. */
function registeredRoutes(): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of h.controller.api.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) routes.push(`${method} ${path}`);
  }
  return routes;
}

function resolve(ref: string): unknown {
  expect(ref).toMatch(/^#\//);
  return ref.slice(2).split('/').reduce((node: any, part) => node?.[part], doc);
}

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v] : refsIn(v)));
}

describe('GET /docs/json: the OpenAPI 3.1 document of the admin API', () => {
  it('has the structure of an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(typeof doc.paths).toBe('object');
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.components.securitySchemes.sessionCookie).toEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'govlocker_session' }));
    expect(doc.components.schemas.Error).toMatchObject({
      type: 'object',
      required: ['error', 'issues'],
      properties: { error: { type: 'string' }, issues: { type: 'array', items: { required: ['path', 'message'] } }, code: { type: 'string' } },
    });
    const ids = new Set<string>();
    for (const { key, path, method, op } of documented()) {
      expect(path, key).toMatch(/^\/api\/v1\//);
      expect(METHODS, key).toContain(method);
      expect(ids.has(op.operationId), `${key}: operationId ${op.operationId} is unique`).toBe(false);
      ids.add(op.operationId);
      // Every {param} of the path template is a required path parameter, and no other.
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const pathParams = (op.parameters ?? []).filter((p: any) => p.in === 'path');
      expect(pathParams.map((p: any) => p.name).sort(), key).toEqual(inPath);
      for (const p of op.parameters ?? []) expect(p, key).toMatchObject({ name: expect.any(String), in: expect.stringMatching(/^(path|query)$/), schema: expect.any(Object) });
      for (const p of pathParams) expect(p.required, key).toBe(true);
      // One success answer, and every error answer is the error shape.
      const statuses = Object.keys(op.responses);
      expect(statuses.filter((s) => /^2\d\d$/.test(s)), key).toHaveLength(1);
      for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
        expect(op.responses[status].content['application/json'].schema, `${key} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
      for (const status of statuses) expect(op.responses[status].description, `${key} ${status}`).toEqual(expect.any(String));
    }
    for (const ref of refsIn(doc)) expect(resolve(ref), ref).toBeTruthy();
  });

  it('has every route the server registers under /api/v1, each with words, and nothing else', () => {
    const registered = registeredRoutes().filter((r) => r.split(' ')[1]!.startsWith('/api/v1/')).sort();
    expect(registered.length).toBeGreaterThan(20);
    expect(registered).toContain('POST /api/v1/cases');
    const inDocument = documented().map((d) => d.key).sort();
    expect(inDocument).toEqual(registered);
    // A new route needs its entry in admin-api/openapi/operations.ts; an entry without a route is stale.
    const undocumented = documented().filter((d) => !d.op.summary).map((d) => d.key);
    expect(undocumented, 'routes without an entry in admin-api/openapi/operations.ts').toEqual([]);
    expect(Object.keys(operationNotes).filter((k) => !registered.includes(k)), 'entries in operations.ts for no route').toEqual([]);
    // Not in the API's own description: the pages and the metrics.
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/api/v1/'))).toEqual([]);
  });

  it("POST /cases: the validator's own body, strict at every level, for clerks and the hall system", () => {
    const op = doc.paths['/api/v1/cases'].post;
    expect(op['x-roles']).toEqual(['clerk', 'admin', 'integration']);
    expect(op.security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
    expect(op.requestBody.required).toBe(true);
    const body = op.requestBody.content['application/json'].schema;
    expect(body.type).toBe('object');
    expect([...body.required].sort()).toEqual(['applicant', 'caseNo', 'enterprise', 'items']);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.enterprise).toMatchObject({ additionalProperties: false, required: ['name', 'uscc'] });
    expect(body.properties.applicant).toMatchObject({ additionalProperties: false, required: ['name', 'phone', 'idNumber'] });
    expect(body.properties.items).toMatchObject({ type: 'array', minItems: 1, maxItems: 20 });
    expect(body.properties.items.items).toMatchObject({ additionalProperties: false, required: ['type', 'barcode'] });
    expect(body.properties.items.items.properties.type.enum).toEqual([...itemTypes]);
    expect(Object.keys(op.responses).sort()).toEqual(['201', '400', '401', '403', '409', '429', '503']);
    expect(op.responses['409'].description).toContain('duplicate-case');
    expect(op.responses['409'].description).toContain('case-differs');
    // The hall system amends and cancels; couriers load (their own item types) and see how their loads went.
    expect(doc.paths['/api/v1/cases/{caseNo}'].put['x-roles']).toEqual(['integration', 'admin']);
    expect(doc.paths['/api/v1/cases/{caseNo}'].put.requestBody.content['application/json'].schema).toMatchObject({ additionalProperties: false, required: ['caseNo', 'enterprise', 'applicant', 'items'] });
    expect(doc.paths['/api/v1/cases/{caseNo}/cancel'].post['x-roles']).toEqual(['integration', 'admin']);
    expect(doc.paths['/api/v1/loads'].post['x-roles']).toEqual(['clerk', 'admin', 'courier']);
    expect(doc.paths['/api/v1/loads'].post.responses['403'].description).toContain('not-your-item-type');
    expect(doc.paths['/api/v1/loads/{loadId}'].get['x-roles']).toContain('courier');
  });

  it('path, query and optional bodies come from the routes', () => {
    const caseOp = doc.paths['/api/v1/cases/{caseNo}'].get;
    expect(caseOp.parameters).toEqual([expect.objectContaining({ name: 'caseNo', in: 'path', required: true, schema: expect.objectContaining({ type: 'string' }) })]);
    const list = doc.paths['/api/v1/cases'].get;
    expect(list.parameters).toEqual([expect.objectContaining({ name: 'state', in: 'query', required: false })]);
    expect(list.parameters[0].schema.enum).toContain('overdue');
    const audit = doc.paths['/api/v1/audit'].get.parameters;
    expect(audit.map((p: any) => [p.name, p.required, p.schema.default])).toEqual([['after', false, 0], ['limit', false, 500]]);
    // A bare POST (curl -X POST) is accepted: the body is optional, and strict when given.
    const disable = doc.paths['/api/v1/compartments/{id}/disable'].post.requestBody;
    expect(disable.required).toBe(false);
    expect(disable.content['application/json'].schema).toMatchObject({ type: 'object', additionalProperties: false });
    // The kiosk's pickup takes one of three bodies.
    expect(doc.paths['/api/v1/kiosk/pickup'].post.requestBody.content['application/json'].schema.anyOf).toHaveLength(3);
    expect(doc.paths['/api/v1/events'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(doc.paths['/api/v1/events'].get.security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }, { tokenQuery: [] }]);
    // A person's sign-in, sign-out and password change.
    const signin = doc.paths['/api/v1/session'].post;
    expect(signin.requestBody.content['application/json'].schema).toMatchObject({ required: ['name', 'password'], additionalProperties: false });
    expect(Object.keys(signin.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503']);
    expect(signin.responses['401'].description).toMatch(/unknown name/);
    const password = doc.paths['/api/v1/session/password'].post;
    expect(password.security).toEqual([{ sessionCookie: [] }]);
    expect(password['x-roles']).toEqual(['clerk', 'ops', 'admin', 'integration', 'courier']);
    expect(password.requestBody.content['application/json'].schema).toMatchObject({ required: ['current', 'next'], additionalProperties: false });
    expect(password.responses['400'].description).toMatch(/weak-password/);
  });

  it('who may call what is what the server enforces', async () => {
    const call = (method: string, url: string, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
      h.controller.api.inject({ method: method as 'GET', url, headers, remoteAddress });
    const checked = { staff: 0, kiosk: 0, session: 0, open: 0 };
    for (const { key, method, path, op } of documented()) {
      const url = path.replace(/\{(\w+)\}/g, 'A01');
      if (op['x-roles']) {
        checked.staff++;
        expect(op.description, key).toContain(`Roles: ${op['x-roles'].join(', ')}`);
        expect((await call(method, url)).statusCode, `${key} without a token`).toBe(401);
        for (const role of ['clerk', 'ops'].filter((r) => !op['x-roles'].includes(r))) {
          expect((await call(method, url, { authorization: `Bearer ${tokens[role]}` })).statusCode, `${key} as ${role}`).toBe(403);
        }
        // Reads with an allowed role get past sign-in (streams are left out: they stay open).
        if (method === 'get' && !op.responses['200'].content['text/event-stream']) {
          const role = op['x-roles'].find((r: string) => tokens[r]) ?? 'clerk';
          expect([401, 403], `${key} as ${role}`).not.toContain((await call(method, url, { authorization: `Bearer ${tokens[role]}` })).statusCode);
        }
      } else if (op['x-session']) {
        // Sign-in and sign-out: no sign-in before them, and never from another site.
        checked.session++;
        expect(op.security, key).toEqual([]);
        expect((await call(method, url, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).statusCode, `${key} from another site`).toBe(403);
        expect((await call(method, url)).statusCode, key).toBe(op['x-session'] === 'starts' ? 400 : 200);
      } else if (op['x-clients']) {
        checked.kiosk++;
        expect(op['x-clients']).toBe('api.kioskClients');
        expect(op.security, key).toEqual([]);
        expect((await call(method, url, {}, '192.0.2.7')).statusCode, `${key} from the hall LAN`).toBe(403);
      } else {
        checked.open++;
        expect(op.security, key).toEqual([]);
        expect((await call(method, url)).statusCode, key).toBe(200);
      }
    }
    expect(checked.staff).toBeGreaterThan(15);
    expect(checked.kiosk).toBe(7);
    expect(checked.open).toBe(1); // GET /health
    expect(checked.session).toBe(2); // POST and DELETE /session
  });
});

describe('GET /docs: the document, readable in a browser', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('lists every endpoint with its roles, body and answers, from /docs/json alone, without page errors', async () => {
    const base = `http://127.0.0.1:${h.controller.apiPort}`;
    const raw = await fetch(`${base}/docs`);
    expect(raw.status).toBe(200);
    for (const [name, value] of Object.entries(pageHeaders)) expect(raw.headers.get(name)).toBe(value);
    const html = await raw.text();
    // No CDN, no external script, style or font: the page works on a cabinet without internet.
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = collectPageErrors(page);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${base}/docs`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });

    const headings = await page.locator('section.op h3').allTextContents();
    expect(headings).toHaveLength(documented().length);
    expect(headings).toContain('POST /api/v1/cases');
    expect(headings).toContain('GET /api/v1/cases/{caseNo}');
    const cases = page.locator('section.op', { has: page.locator('h3', { hasText: /^POST \/api\/v1\/cases$/ }) });
    const text = await cases.innerText();
    expect(text).toContain('Create a case');
    expect(text).toContain('roles: clerk, admin');
    for (const field of ['caseNo', 'enterprise', 'uscc', 'applicant', 'idNumber', 'items', 'barcode', 'licence-original']) expect(text).toContain(field);
    expect(text).toContain('no other fields');
    expect(text).toMatch(/201\s/);
    expect(text).toContain('duplicate-case');
    const kiosk = await page.locator('section.op', { has: page.locator('h3', { hasText: /^POST \/api\/v1\/kiosk\/pickup$/ }) }).innerText();
    expect(kiosk).toContain('kiosk only (api.kioskClients)');
    await screenshot(page, 'api-docs');
    expect(requests.every((url) => url.startsWith(base)), requests.join('\n')).toBe(true);
    expect(errors).toEqual([]);
  });
});
