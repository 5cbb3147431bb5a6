import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import postgres from 'postgres';
import { assertDriverPatched } from '@mbsync/dump';
import type { Environment } from './environments.js';

export interface OpenDatabaseOptions {
  /** pool size (default 1: a dump or an import is one session) */
  max?: number;
  /** what the session shows as application_name in pg_stat_activity */
  applicationName?: string;
  /** the job's scope (a run watched for stalls): the pool's sockets are tracked there and its sessions tagged */
  scope?: DatabaseScope | undefined;
}

/** A pool opened inside a {@link DatabaseScope}. */
export interface ScopedPool {
  sql: postgres.Sql;
  environment: Environment;
  applicationName: string;
}

/** The host/port/path part of postgres.js's parsed options that a socket factory needs. */
interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false;
  database?: string;
  /** false unless TLS is asked for (sslmode) */
  ssl?: unknown;
}

/**
 * What postgres.js's `socket` option calls for each connection: a socket connected as the driver would connect
 * it (the `index`-th host of a multi-host URL), reading in large pieces unless TLS is asked for.
 */
function connectSocket(options: SocketTarget, index = 0): Socket {
  const socket = options.ssl ? new Socket() : largeReadSocket();
  const i = index % Math.max(1, options.host.length);
  if (options.path) socket.connect(options.path);
  else socket.connect(options.port[i] ?? 5432, options.host[i] ?? 'localhost');
  // postgres.js names host and port in its connection errors
  Object.assign(socket, { host: options.host[i], port: options.port[i] });
  return socket;
}

/** Bytes one read of a database socket may take (node's own reads stop at 64 KiB). */
const READ_BYTES = 1 << 20;

/**
 * A socket that reads up to {@link READ_BYTES} at a time and hands postgres.js each read as one 'data' chunk.
 * A COPY of a large table arrives far faster than 64 KiB per event loop turn: bigger reads mean 16 times fewer
 * chunks through the driver, the streams and the file, which took ~15 % off the export's CPU time. A read that
 * filled at least half the buffer is handed on as it is (a new buffer takes its place); a smaller one is copied
 * out, so a chunk never pins more than twice its size. Not for TLS: there node's TLS layer does the reading.
 */
export function largeReadSocket(): Socket {
  let buffer = Buffer.allocUnsafe(READ_BYTES);
  // `onread` is a constructor option of net.Socket (node ≥ 12) that @types/node declares for connect() only
  const socket: Socket = new Socket({
    onread: {
      buffer: () => buffer,
      callback: (bytes: number, read: Uint8Array) => {
        let chunk: Buffer;
        if (bytes >= READ_BYTES / 2) {
          chunk = Buffer.from(read.buffer, read.byteOffset, bytes);
          buffer = Buffer.allocUnsafe(READ_BYTES);
        } else chunk = Buffer.from(read.subarray(0, bytes));
        // with `onread` node emits no 'data' of its own; pause()/resume() still stop and restart the reads
        socket.emit('data', chunk);
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  return socket;
}

/**
 * Every database connection one job opens, so that a watchdog can tell whether bytes still move, find the
 * job's sessions on the server (their application_name ends with ` [<tag>]`), and, when the network is dead,
 * destroy the sockets instead of waiting for TCP to give up. Runners pass their scope to {@link openDatabase}
 * explicitly; without one it opens plain pools. (Not an AsyncLocalStorage: on Node 20 an active one hooks every
 * promise, which cost the streaming export about 10 % of its wall time.)
 */
export class DatabaseScope {
  readonly tag: string;
  readonly pools = new Set<ScopedPool>();
  readonly #sockets = new Set<Socket>();
  #closedBytes = 0;
  #destroyed = false;
  /** servers (host:port/database) new connections to which fail at once */
  readonly #refused = new Set<string>();

  constructor(label?: string) {
    const clean = (label ?? '').replace(/[^A-Za-z0-9 .:-]/g, '').slice(0, 24).trim();
    this.tag = `${clean ? `${clean} ` : ''}${randomBytes(3).toString('hex')}`;
  }

  /** application_name of a session opened in this scope (at most 63 bytes, PostgreSQL's limit). */
  sessionName(base: string): string {
    return `${base.slice(0, 63 - this.tag.length - 3)} [${this.tag}]`;
  }

  /** bytes read and written so far over every socket of the scope (closed ones included) */
  bytes(): number {
    let n = this.#closedBytes;
    for (const s of this.#sockets) n += s.bytesRead + s.bytesWritten;
    return n;
  }

  get openSockets(): number {
    return this.#sockets.size;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * A postgres.js `socket` option: a plain TCP (or Unix) socket, connected as the driver would, and tracked.
   * Once the scope is destroyed, new connections to the servers it gave up on fail at once.
   */
  socketFactory(): (options: SocketTarget) => Socket {
    let next = 0;
    return (options) => {
      if (this.#refused.has(serverKey(options))) throw Object.assign(new Error('connection refused: the server stopped answering this job (stall watchdog)'), { code: 'CONNECTION_DESTROYED' });
      const socket = connectSocket(options, next++);
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#closedBytes += socket.bytesRead + socket.bytesWritten;
        this.#sockets.delete(socket);
      });
      return socket;
    };
  }

  /**
   * Ends every pool at once and destroys every socket: pending queries and COPY streams fail with
   * CONNECTION_DESTROYED / CONNECTION_CLOSED instead of waiting on a dead network. New connections to the
   * `unreachable` pools' servers fail at once; others may still be opened (a cleanup on a server that answers).
   */
  destroy(unreachable: Iterable<ScopedPool> = this.pools): void {
    this.#destroyed = true;
    for (const pool of unreachable) this.#refused.add(serverKey(pool.sql.options as unknown as SocketTarget & { database?: string }));
    for (const pool of this.pools) void pool.sql.end({ timeout: 0 }).catch(() => {});
    for (const socket of this.#sockets) socket.destroy();
  }
}

function serverKey(options: SocketTarget & { database?: string }): string {
  return `${options.path || `${options.host.join(',')}:${options.port.join(',')}`}/${options.database ?? ''}`;
}

/** Sockets for a pool outside any scope: large reads, nothing tracked. */
function plainSocketFactory(): (options: SocketTarget) => Socket {
  let next = 0;
  return (options) => connectSocket(options, next++);
}

/**
 * Opens a postgres.js pool on an environment. Nothing connects until the first query. Notices are dropped
 * (the restore settings silence them anyway). With `options.scope` (a job watched for stalls) the pool's
 * sockets are tracked and its sessions tagged.
 */
export function openDatabase(env: Environment, options: OpenDatabaseOptions = {}): postgres.Sql {
  // every runner opens its connections here: a driver without our patch is refused before the first one
  assertDriverPatched();
  const scope = options.scope;
  const applicationName = options.applicationName ?? 'mbsync';
  const sql = postgres(env.databaseUrl, {
    max: options.max ?? 1,
    onnotice: () => {},
    connect_timeout: 15,
    idle_timeout: 30,
    max_lifetime: null,
    prepare: false,
    connection: { application_name: scope ? scope.sessionName(applicationName) : applicationName },
    // `socket` is a postgres.js option its types do not declare
    ...({ socket: scope ? scope.socketFactory() : plainSocketFactory() } as object),
  });
  scope?.pools.add({ sql, environment: env, applicationName });
  return sql;
}
