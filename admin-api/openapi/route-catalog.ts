import type { FastifyInstance, RouteOptions } from 'fastify';
import type { ZodType } from 'zod';
import type { Role } from '../../controller/store/users-repo.ts';
import type { RoleHook } from '../auth.ts';

/** The zod schemas a route validates with (fastify-type-provider-zod), as the route declared them. */
export interface RouteSchemas {
  readonly params?: ZodType;
  readonly querystring?: ZodType;
  readonly body?: ZodType;
  readonly response?: Readonly<Record<string, ZodType>>;
}

/** One endpoint as registered: what the API description is generated from. */
export interface CatalogRoute {
  readonly method: string;
  /** fastify's spelling, prefix included: `/api/v1/cases/:caseNo`. */
  readonly url: string;
  readonly schema: RouteSchemas;
  /** Roles of the route's sign-in hook; null: the route needs no sign-in. */
  readonly roles: readonly Role[] | null;
  /** The token may also come as `?token=` (the event streams). */
  readonly queryToken: boolean;
  /** Only a person's session cookie lets in, no bearer token (the password change). */
  readonly sessionOnly: boolean;
}

const isRoleHook = (hook: unknown): hook is RoleHook => typeof hook === 'function' && Array.isArray((hook as Partial<RoleHook>).roles);

/**
 * Every route under `prefix`, collected as fastify registers it. Install it on the root instance before the
 * route plugins, so that no route can be served without being described.
 */
export class RouteCatalog {
  readonly #routes: CatalogRoute[] = [];

  private constructor(readonly prefix: string) {}

  static collect(app: FastifyInstance, prefix: string): RouteCatalog {
    const catalog = new RouteCatalog(prefix);
    app.addHook('onRoute', (route) => catalog.#add(route));
    return catalog;
  }

  get routes(): readonly CatalogRoute[] {
    return this.#routes;
  }

  #add(route: RouteOptions): void {
    if (!route.url.startsWith(`${this.prefix}/`)) return;
    const hook = [route.onRequest ?? []].flat().find(isRoleHook);
    for (const method of [route.method].flat()) {
      // fastify adds a HEAD twin to every GET; it answers the same, without a body.
      if (method === 'HEAD') continue;
      this.#routes.push({ method, url: route.url, schema: (route.schema ?? {}) as RouteSchemas, roles: hook?.roles ?? null, queryToken: hook?.queryToken ?? false, sessionOnly: hook?.sessionOnly ?? false });
    }
  }
}
