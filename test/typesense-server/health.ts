import { jsonReply, type Reply } from './http-io.js';
import type { Route, RouteContext } from './router.js';

/** Path roots that skip the readiness check (contract §1.0, `http_server.cpp:418-509`). */
export const READINESS_EXEMPT_ROOTS: ReadonlySet<string> = new Set(['health', 'debug', 'operations', 'status', 'metrics.json']);

/** Roots that need no API key: only `/health` (`core_api.cpp:81-84`). */
export const AUTH_EXEMPT_ROOTS: ReadonlySet<string> = new Set(['health']);

/** `GET /health` (§1.1) and `GET /debug` (which the contract tests use to learn a real server's version). */
export const healthRoutes: readonly Route[] = [
  { method: 'GET', pattern: '/health', handler: () => jsonReply(200, { ok: true }) },
  { method: 'GET', pattern: '/debug', handler: debugInfo },
];

/** The unhealthy `/health` answer (§1.1): 503 `{"ok":false}`. */
export function unhealthyReply(): Reply {
  return jsonReply(503, { ok: false });
}

function debugInfo({ state }: RouteContext): Reply {
  return jsonReply(200, { state: 1, version: `${state.version}.0` });
}
