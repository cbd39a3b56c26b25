import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { Cabinet } from '../../controller/cabinet.ts';
import { serveFavicon } from '../../http-common/favicon.ts';
import { pageHeaders } from '../../http-common/page-headers.ts';

const page = (name: string) => readFileSync(new URL(`../pages/${name}`, import.meta.url), 'utf8');

/** The kiosk's page and tab icon: all the cabinet's own screen loads besides the kiosk endpoints. */
export const kioskPageRoutes: FastifyPluginAsync = async (app) => {
  const kiosk = page('kiosk.html');
  app.get('/', async (_request, reply) => reply.redirect('/kiosk'));
  app.get('/kiosk', async (_request, reply) => reply.headers(pageHeaders).send(kiosk));
  serveFavicon(app);
};

/** The kiosk and clerk pages: static files, clients of the same JSON API and SSE streams. */
export const pageRoutes: FastifyPluginAsync<{ cabinet: Cabinet }> = async (app) => {
  await app.register(kioskPageRoutes);
  const clerk = page('clerk.html');
  app.get('/clerk', async (_request, reply) => reply.headers(pageHeaders).send(clerk));
};
