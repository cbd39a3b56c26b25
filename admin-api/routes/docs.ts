import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../controller/cabinet.ts';
import { pageHeaders } from '../../http-common/page-headers.ts';
import { openApiDocument, type OpenApiDocument } from '../openapi/document.ts';
import { operationNotes } from '../openapi/operations.ts';
import type { RouteCatalog } from '../openapi/route-catalog.ts';

const page = readFileSync(new URL('../pages/docs.html', import.meta.url), 'utf8');

/** The API describes itself: the OpenAPI 3.1 document at /docs/json, and a page that reads it at /docs. */
export const docsRoutes: FastifyPluginAsync<{ catalog: RouteCatalog }> = async (app, { catalog }) => {
  // Built on the first request, when every route is registered; routes do not change after start.
  let document: OpenApiDocument | undefined;
  app.get('/docs/json', async () => (document ??= openApiDocument(catalog.routes, { version: VERSION, notes: operationNotes })));
  app.get('/docs', async (_request, reply) => reply.headers(pageHeaders).send(page));
};
