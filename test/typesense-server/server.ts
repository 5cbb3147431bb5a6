import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { aliasRoutes } from './aliases.js';
import { collectionRoutes } from './collections.js';
import { importRoute } from './document-import.js';
import { documentRoutes } from './documents.js';
import { Faults, type FaultKind } from './faults.js';
import { AUTH_EXEMPT_ROOTS, healthRoutes, READINESS_EXEMPT_ROOTS, unhealthyReply } from './health.js';
import { messageReply, readBody, sendReply, type Reply } from './http-io.js';
import { FORBIDDEN_MESSAGE, NOT_READY_BODY, ROUTE_NOT_FOUND_BODY, TYPESENSE_VERSIONS, type TypesenseVersion } from './messages.js';
import { matchRoute, type Route } from './router.js';
import { searchRoute } from './search.js';
import { TypesenseState } from './state.js';

/** Options of {@link createTypesenseServer}. */
export interface TypesenseServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind (default `127.0.0.1`). */
  host?: string;
  /** The admin API key (default `test-api-key`). */
  apiKey?: string;
  /** Emulated Typesense major version (default 29). */
  version?: TypesenseVersion;
}

/** One request as the server saw it, for assertions on retries and faults. */
export interface RequestRecord {
  method: string;
  /** Path and query string. */
  url: string;
  /** HTTP status sent, or `undefined` when the connection was dropped or reset. */
  status: number | undefined;
  fault: FaultKind | undefined;
}

/** A running in-memory Typesense-compatible server. */
export interface TypesenseServer {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly apiKey: string;
  /** Fault injection, see {@link Faults}. */
  readonly faults: Faults;
  /** The in-memory collections and aliases (read it; change it through HTTP). */
  readonly state: TypesenseState;
  /** Every request received, oldest first. */
  readonly requests: readonly RequestRecord[];
  /** The emulated version. */
  readonly version: TypesenseVersion;
  /** Whether the server currently accepts connections. */
  readonly listening: boolean;
  /** Switches message texts and shapes to another version (contract §1.8); the data is kept. */
  setVersion(version: TypesenseVersion): void;
  /**
   * Stops listening and destroys open connections: new connections get ECONNREFUSED until
   * {@link up}. A client's pooled keep-alive socket may first fail once with ECONNRESET.
   */
  down(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  up(): Promise<void>;
  /** Stops the server for good and cancels pending latency faults. */
  close(): Promise<void>;
}

/** Routes in match order: literal `documents/*` routes precede `documents/:id`. */
const ROUTES: readonly Route[] = [...healthRoutes, ...collectionRoutes, importRoute, searchRoute, ...aliasRoutes, ...documentRoutes];

/** Starts an in-memory Typesense-compatible server speaking the contract in /work/shared/typesense-contract.md. */
export async function createTypesenseServer(options: TypesenseServerOptions = {}): Promise<TypesenseServer> {
  const host = options.host ?? '127.0.0.1';
  const apiKey = options.apiKey ?? 'test-api-key';
  const state = new TypesenseState(checkVersion(options.version ?? 29));
  const faults = new Faults();
  const requests: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  const delays = new Set<() => void>();
  let port = options.port ?? 0;
  let listening = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const root = url.pathname.split('/').find((s) => s !== '') ?? '';
    const match = matchRoute(ROUTES, method, url.pathname);
    const fault = faults.take({ method, path: url.pathname, routed: match !== undefined, readinessExempt: READINESS_EXEMPT_ROOTS.has(root) });
    const record: RequestRecord = { method, url: req.url ?? '/', status: undefined, fault: fault?.kind };
    requests.push(record);
    const send = (reply: Reply): void => {
      record.status = reply.status;
      sendReply(res, reply);
    };

    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'latency') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, fault.ms);
        function finish(): void {
          clearTimeout(timer);
          delays.delete(finish);
          resolve();
        }
        delays.add(finish);
      });
      if (req.socket.destroyed) return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      // A corrupt gzip body; the contract gives no text for it.
      return send(messageReply(400, 'Bad gzip body.'));
    }
    // Pipeline order of `http_server.cpp:418-509`: route → readiness → auth → handler (§1.0).
    if (match === undefined) return send({ status: 404, type: 'json', body: ROUTE_NOT_FOUND_BODY });
    if (fault?.kind === '503') {
      return send(root === 'health' ? unhealthyReply() : { status: 503, type: 'json', body: NOT_READY_BODY });
    }
    const key = req.headers['x-typesense-api-key'] ?? url.searchParams.get('x-typesense-api-key');
    if (!AUTH_EXEMPT_ROOTS.has(root) && key !== apiKey) return send(messageReply(401, FORBIDDEN_MESSAGE));
    let reply: Reply;
    try {
      reply = match.route.handler({ state, params: match.params, query: url.searchParams, body });
    } catch (error) {
      reply = messageReply(500, `Test server error: ${(error as Error).message}`);
    }
    if (fault?.kind === 'reset') {
      // The write is applied, the answer is lost.
      req.socket.resetAndDestroy();
      return;
    }
    send(reply);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) sendReply(res, messageReply(500, `Test server error: ${String(error)}`));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    listening = true;
  };
  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    // Let in-process clients (the tests' fetch/axios pools) see the FINs before the next request,
    // so they get ECONNREFUSED rather than a write on a dead keep-alive socket.
    await new Promise((resolve) => setTimeout(resolve, 10));
  };

  await listen();
  return {
    get url() {
      return `http://${host}:${port}`;
    },
    host,
    get port() {
      return port;
    },
    apiKey,
    faults,
    state,
    requests,
    get version() {
      return state.version;
    },
    get listening() {
      return listening;
    },
    setVersion(version: TypesenseVersion) {
      state.version = checkVersion(version);
    },
    down: stop,
    async up() {
      if (!listening) await listen();
    },
    async close() {
      faults.clear();
      for (const finish of [...delays]) finish();
      await stop();
    },
  };
}

function checkVersion(version: TypesenseVersion): TypesenseVersion {
  if (!TYPESENSE_VERSIONS.includes(version)) throw new RangeError(`unsupported Typesense version ${String(version)}`);
  return version;
}
