import type { FastifyInstance } from 'fastify';

/** A cabinet of compartments, drawn small: the pages' tab icon (a browser asks for one; a 404 is noise). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect x="2" y="2" width="28" height="28" rx="3" fill="#1d2b3a"/>
<g fill="#cfd8e3"><rect x="5" y="5" width="6" height="6"/><rect x="13" y="5" width="6" height="6"/><rect x="21" y="5" width="6" height="6"/>
<rect x="5" y="13" width="6" height="6"/><rect x="13" y="13" width="6" height="6" fill="#ffb347"/><rect x="21" y="13" width="6" height="6"/>
<rect x="5" y="21" width="6" height="6"/><rect x="13" y="21" width="6" height="6"/><rect x="21" y="21" width="6" height="6"/></g>
</svg>`;

/** Serves the icon at `/favicon.svg` (the pages link it) and `/favicon.ico` (where browsers look by default). */
export function serveFavicon(app: FastifyInstance): void {
  for (const url of ['/favicon.svg', '/favicon.ico']) {
    app.get(url, async (_request, reply) => reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON_SVG));
  }
}
