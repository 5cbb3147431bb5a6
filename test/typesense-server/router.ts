import type { Reply } from './http-io.js';
import type { TypesenseState } from './state.js';

/** What a handler gets: the state, URL-decoded path parameters, the query and the (inflated) body. */
export interface RouteContext {
  state: TypesenseState;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Buffer;
}

/** Handlers are synchronous: the state is in memory and writes to it must not interleave (§1.0). */
export type RouteHandler = (context: RouteContext) => Reply;

/** One route: method, a path pattern with `:name` segments, and its handler. */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  pattern: string;
  handler: RouteHandler;
}

/** A matched route and its path parameters. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Finds the first route matching method and path; the table lists literal routes
 * (`documents/search`) before parametric ones (`documents/:id`). Path parameters are URL-decoded
 * (contract §1.0, `http_server.cpp:454-460`).
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch | undefined {
  const segments = pathname.split('/').filter((s) => s !== '');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.pattern.split('/').filter((s) => s !== '');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matched = pattern.every((part, i) => {
      const segment = segments[i] as string;
      if (part.startsWith(':')) {
        params[part.slice(1)] = decodeSegment(segment);
        return true;
      }
      return part === segment;
    });
    if (matched) return { route, params };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Reads a required path parameter (the router guarantees it for the route's pattern). */
export function param(context: RouteContext, name: string): string {
  return context.params[name] ?? '';
}
