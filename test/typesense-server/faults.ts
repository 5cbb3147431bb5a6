/**
 * Fault injection for tests of retry and back-pressure handling (contract §3 "Common complaints").
 *
 * - `503`: the request passes routing, then gets 503 `{ "message": "Not Ready or Lagging"}` before
 *   auth (§1.0 step 2), and nothing is applied. `/health` answers 503 `{"ok":false}` instead (§1.1),
 *   but only when the fault's `match.pathPrefix` targets it: health is exempt from the readiness
 *   check and may say ok while writes get 503 (typesense/typesense#833).
 * - `drop`: the socket is destroyed before the body is read; nothing is applied (client: "socket hang up").
 * - `reset`: the request is read and APPLIED, then the connection is reset (RST) instead of
 *   answered: the client sees ECONNRESET for a write that happened.
 * - `latency`: the request waits `ms` milliseconds, then proceeds normally (a large value stalls it;
 *   typesense-js has no timeout on imports).
 */
export type FaultKind = '503' | 'drop' | 'reset' | 'latency';

/** Which requests a fault applies to; omitted properties match everything. */
export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Start of the URL path (no query string), e.g. `/collections/parts/documents/import`. */
  pathPrefix?: string;
}

/** A fault to inject for the next `count` matching requests. */
export interface FaultSpec {
  kind: FaultKind;
  /** How many matching requests get the fault (default 1; `Infinity` until cleared). */
  count?: number;
  /** Delay for `latency` (default 1000 ms). */
  ms?: number;
  match?: FaultMatch;
}

/** A fault chosen for one request. */
export interface AppliedFault {
  kind: FaultKind;
  ms: number;
}

/** What the server knows about a request when it picks a fault. */
export interface FaultCandidate {
  method: string;
  path: string;
  /** The request matched a route (a 503 cannot precede the route check, §1.0). */
  routed: boolean;
  /** The path root skips the readiness check (`health`, `debug`, …). */
  readinessExempt: boolean;
}

interface PendingFault {
  spec: FaultSpec;
  remaining: number;
}

/** The server's queue of injected faults. Faults are consumed in injection order, one per request. */
export class Faults {
  #pending: PendingFault[] = [];

  /** Queues a fault for the next `count` matching requests. */
  inject(spec: FaultSpec): void {
    const remaining = spec.count ?? 1;
    if (!(remaining > 0)) throw new RangeError(`fault count must be positive, got ${remaining}`);
    this.#pending.push({ spec, remaining });
  }

  /** Removes every queued fault. */
  clear(): void {
    this.#pending = [];
  }

  /** How many faulted requests are still queued (Infinity for an unbounded fault). */
  get pending(): number {
    return this.#pending.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  /** Picks (and consumes) the fault for a request, if any. Used by the server. */
  take(request: FaultCandidate): AppliedFault | undefined {
    const index = this.#pending.findIndex(({ spec }) => applies(spec, request));
    const fault = this.#pending[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#pending.splice(index, 1);
    return { kind: fault.spec.kind, ms: fault.spec.ms ?? 1000 };
  }
}

function applies(spec: FaultSpec, request: FaultCandidate): boolean {
  const { method, pathPrefix } = spec.match ?? {};
  if (method !== undefined && method.toUpperCase() !== request.method) return false;
  if (pathPrefix !== undefined && !request.path.startsWith(pathPrefix)) return false;
  if (spec.kind === '503') {
    if (!request.routed) return false;
    if (request.readinessExempt && pathPrefix === undefined) return false;
  }
  return true;
}
