// Routes are declared in groups that name their access once: public, any
// signed-in principal, admin only, or one site (the `:site` parameter, checked
// against the principal's scope). The guard runs before any byte of the body is
// read; a handler that wants JSON asks for it through `ctx.json(schema)`, which
// reads at most the route's body limit.
import type * as v from "valibot";
import type { Site } from "../sites/index.ts";
import { readJson } from "./body.ts";

export type Access = "public" | "member" | "admin" | "site";
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Who is calling: a bearer token or a UI session, for every site (admin) or one. */
export interface Principal {
  via: "token" | "session";
  /** The token id or the session id. */
  id: string;
  /** null: may act on every site. */
  siteId: number | null;
  /** The signed-in user of a session. */
  user: string | null;
}

interface RouteContext {
  request: Request;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  set: { status?: number | string; headers: Record<string, string | number> };
  /** The request body as JSON checked against `schema` (an empty body is `{}`). */
  json<S extends v.GenericSchema>(schema: S): Promise<v.InferOutput<S>>;
}

type Guarded<A extends Access> = RouteContext &
  (A extends "public" ? { principal: null } : { principal: Principal }) &
  (A extends "site" ? { site: Site } : unknown);

export type Handler<A extends Access> = (ctx: Guarded<A>) => unknown;

export interface RouteOptions {
  /** Largest JSON body this route reads (bytes); default JSON_BODY_LIMIT. */
  bodyLimit?: number;
}

export interface Route {
  method: Method;
  path: string;
  access: Access;
  handler: Handler<Access>;
  options: RouteOptions;
}

/** JSON bodies of the API are small; archives and blobs are streamed by their own routes. */
const JSON_BODY_LIMIT = 64 * 1024;

/** A group of routes sharing one access rule. */
class RouteGroup<A extends Access> {
  readonly routes: Route[] = [];

  constructor(readonly access: A) {}

  get(path: string, handler: Handler<A>, options: RouteOptions = {}): this {
    return this.add("GET", path, handler, options);
  }
  post(path: string, handler: Handler<A>, options: RouteOptions = {}): this {
    return this.add("POST", path, handler, options);
  }
  put(path: string, handler: Handler<A>, options: RouteOptions = {}): this {
    return this.add("PUT", path, handler, options);
  }
  patch(path: string, handler: Handler<A>, options: RouteOptions = {}): this {
    return this.add("PATCH", path, handler, options);
  }
  delete(path: string, handler: Handler<A>, options: RouteOptions = {}): this {
    return this.add("DELETE", path, handler, options);
  }

  private add(method: Method, path: string, handler: Handler<A>, options: RouteOptions): this {
    if (this.access === "site" && !path.includes("/:site")) throw new Error(`site route without :site: ${path}`);
    this.routes.push({ method, path, access: this.access, handler: handler as Handler<Access>, options });
    return this;
  }
}

export const publicRoutes = () => new RouteGroup("public");
export const memberRoutes = () => new RouteGroup("member");
export const adminRoutes = () => new RouteGroup("admin");
export const siteRoutes = () => new RouteGroup("site");

/** What the guard needs: who is calling, and the site a route names (checked against the scope). */
export interface Guard {
  authenticate(request: Request): Principal;
  requireAdmin(principal: Principal): void;
  siteFor(principal: Principal, name: string): Site;
}

interface ElysiaContext {
  request: Request;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  set: RouteContext["set"];
}

/** The Elysia handler of one route: guard first, then the route's own handler. */
export function guarded(route: Route, guard: Guard): (ctx: ElysiaContext) => unknown {
  const limit = route.options.bodyLimit ?? JSON_BODY_LIMIT;
  return ({ request, params, query, set }) => {
    const json = <S extends v.GenericSchema>(schema: S) => readJson(request, schema, limit);
    if (route.access === "public") return route.handler({ request, params, query, set, json, principal: null } as never);
    const principal = guard.authenticate(request);
    if (route.access === "admin") guard.requireAdmin(principal);
    const site = route.access === "site" ? guard.siteFor(principal, params.site!) : undefined;
    return route.handler({ request, params, query, set, json, principal, site } as never);
  };
}
