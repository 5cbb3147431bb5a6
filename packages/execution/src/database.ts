import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import postgres from 'postgres';
import { resolveConnectionSettings, transactionPoolerMessage } from './connection-settings.js';
import { assertDriverPatched, type PoolOpener } from '@mbsync/dump';
import { type Environment, JobsError } from '@mbsync/jobs';
import { negotiateTls, type TlsTarget } from './tls-socket.js';

/** What a pool is to its job: the side it reads (source), the side it writes (target), or neither (a check). */
export type DatabaseRole = 'source' | 'target' | 'database';

export interface OpenDatabaseOptions {
  /** which side of the job the pool is on: the stall watchdog names it so (never guessed from a session name) */
  role: DatabaseRole;
  /** pool size (default 1: a dump or an import is one session) */
  max?: number;
  /** what the session shows as application_name in pg_stat_activity */
  applicationName?: string;
  /** the job's scope (a run watched for stalls): the pool's sockets are tracked there and its sessions tagged */
  scope?: DatabaseScope | undefined;
  /** sockets tracked here (destroyed with it), the session neither tagged nor registered: the watchdog's probes */
  sockets?: DatabaseScope;
  /** how long connecting (TCP, TLS, startup) may take, in seconds (default 15) */
  connectTimeoutSeconds?: number;
  /** another database of the same server (createdb connects to `postgres`) */
  database?: string;
  /** the server's statement_timeout for the session, in ms (default: the server's) */
  statementTimeoutMs?: number;
  /** seconds an idle connection stays open (default 30) */
  idleTimeoutSeconds?: number;
  /** read the server's array types on connect (default true; a probe that binds no arrays saves the round trip) */
  fetchTypes?: boolean;
}

/** A pool opened inside a {@link DatabaseScope}. */
export interface ScopedPool {
  sql: postgres.Sql;
  environment: Environment;
  applicationName: string;
  role: DatabaseRole;
}

/** The host/port/path part of postgres.js's parsed options that a socket factory needs. */
interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false;
  database?: string;
}

/** How a pool's connections negotiate TLS (undefined: plain TCP): everything but the host of each connection. */
export type TlsSettings = Omit<TlsTarget, 'host'>;

/** A new connection: the TCP (or Unix) socket, and what postgres.js gets once it is ready (TLS negotiated). */
interface Connecting {
  raw: Socket;
  ready: Socket | Promise<Socket>;
}

/** Seconds postgres.js waits for a connection to be established (startup and authentication). */
const CONNECT_TIMEOUT_SECONDS = 15;

/**
 * What postgres.js's `socket` option calls for each connection: a socket connected as the driver would connect
 * it (the `index`-th host of a multi-host URL), reading in large pieces. With TLS, the SSLRequest and the handshake
 * happen here first (postgres.js is told `ssl: false`); a failed negotiation becomes a socket that fails with its
 * error, so postgres.js closes the connection as it would after any connect error.
 */
function connectSocket(options: SocketTarget, index: number, tls: TlsSettings | undefined): Connecting {
  const raw = tls ? new Socket() : largeReadSocket();
  const i = index % Math.max(1, options.host.length);
  const host = options.host[i];
  const port = options.port[i];
  if (options.path) raw.connect(options.path);
  else {
    raw.connect(port ?? 5432, host ?? 'localhost');
    // as libpq does: no Nagle. A COPY's last small message (CopyDone) would otherwise wait for the ACK of the data
    // before it, which the server delays (40 ms on Linux): 500 small tables lost 20 s that way
    raw.setNoDelay(true);
  }
  // postgres.js names host and port in its connection errors
  const named = (socket: Socket) => Object.assign(socket, { host, port });
  named(raw);
  if (!tls) return { raw, ready: raw };
  const ready = negotiateTls(raw, { ...tls, host: options.path ? undefined : host }).then(named, (error: unknown) => {
    raw.destroy();
    return named(failedSocket(error));
  });
  return { raw, ready };
}

/** A stand-in socket that takes writes and then fails with `error`, once postgres.js listens to it. */
function failedSocket(error: unknown): Socket {
  const socket = new Duplex({ read() {}, write(_chunk, _encoding, callback) { callback(); } });
  setImmediate(() => socket.destroy(error instanceof Error ? error : new Error(String(error))));
  return socket as unknown as Socket;
}

/** Bytes of the buffers a database socket reads into, one read after the other (node's own reads stop at 64 KiB). */
const SLAB_BYTES = 1 << 20;
/** A read gets at least this much room: with less left, the next read goes into a new buffer. */
const MIN_READ_BYTES = 1 << 18;
/** Reads under this are copied out (startup, query results, a COPY's last rows): they never hold a whole buffer. */
const SMALL_READ_BYTES = 1 << 12;

/**
 * A socket that reads up to 1 MiB at a time and hands postgres.js each read as one 'data' chunk. A COPY of a large
 * table arrives far faster than 64 KiB per event loop turn: bigger reads mean 16 times fewer chunks through the
 * driver, the streams and the file, which took ~15 % off the export's CPU time. Reads go one after the other into
 * a 1 MiB buffer (a new one once less than 256 KiB is left), each handed on as a view of its own part of it:
 * nothing is copied, one allocation per MiB read. A read under 4 KiB is copied out instead, so a connection that
 * goes quiet holds at most its current buffer and the one its last large read is in. Not for TLS: there node's TLS
 * layer does the reading, in TLS records (at most 16 KiB each), which coalesceReads (tls-socket.ts) joins instead.
 */
export function largeReadSocket(): Socket {
  let slab = Buffer.allocUnsafe(SLAB_BYTES);
  let used = 0;
  // `onread` is a constructor option of net.Socket (node ≥ 12) that @types/node declares for connect() only; node
  // asks `buffer` for the memory of each read after the callback of the one before
  const socket: Socket = new Socket({
    onread: {
      buffer: () => slab.subarray(used),
      callback: (bytes: number, read: Uint8Array) => {
        let chunk: Buffer;
        if (bytes < SMALL_READ_BYTES) chunk = Buffer.from(read.subarray(0, bytes));
        else {
          chunk = Buffer.from(read.buffer, read.byteOffset, bytes);
          used += bytes;
          if (SLAB_BYTES - used < MIN_READ_BYTES) {
            slab = Buffer.allocUnsafe(SLAB_BYTES);
            used = 0;
          }
        }
        // with `onread` node emits no 'data' of its own; pause()/resume() still stop and restart the reads
        socket.emit('data', chunk);
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  // every chunk is memory of its own that nothing else reads: postgres.js (patch level 6) may take the COPY rows
  // out of their messages in place instead of copying them into a new buffer (docs/driver-patch.md § 10)
  return Object.assign(socket, { ownedReads: true });
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
  /** each connection's TCP socket (it carries every byte, encrypted or not) → the socket postgres.js speaks on */
  readonly #sockets = new Map<Socket, Socket>();
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
    for (const s of this.#sockets.keys()) n += s.bytesRead + s.bytesWritten;
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
  socketFactory(tls?: TlsSettings): (options: SocketTarget) => Socket | Promise<Socket> {
    let next = 0;
    return (options) => {
      if (this.#refused.has(serverKey(options))) throw Object.assign(new Error('connection refused: the server stopped answering this job (stall watchdog)'), { code: 'CONNECTION_DESTROYED' });
      const { raw, ready } = connectSocket(options, next++, tls);
      this.#sockets.set(raw, raw);
      const release = () => {
        if (this.#sockets.delete(raw)) this.#closedBytes += raw.bytesRead + raw.bytesWritten;
      };
      raw.once('close', release);
      if (ready === raw) return raw;
      return Promise.resolve(ready).then((socket) => {
        if (this.#sockets.has(raw)) this.#sockets.set(raw, socket);
        socket.once('close', release);
        return socket;
      });
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
    // the socket postgres.js speaks on first (a TLS socket: then nothing writes to the TCP socket under it any more)
    for (const [raw, socket] of this.#sockets) {
      socket.destroy();
      raw.destroy();
    }
  }
}

function serverKey(options: SocketTarget & { database?: string }): string {
  return `${options.path || `${options.host.join(',')}:${options.port.join(',')}`}/${options.database ?? ''}`;
}

/** Sockets for a pool outside any scope: large reads, nothing tracked. */
function plainSocketFactory(tls: TlsSettings | undefined): (options: SocketTarget) => Socket | Promise<Socket> {
  let next = 0;
  return (options) => connectSocket(options, next++, tls).ready;
}

/**
 * Opens a postgres.js pool on an environment. Nothing connects until the first query. Notices are dropped
 * (the restore settings silence them anyway). With `options.scope` (a job watched for stalls) the pool's
 * sockets are tracked and its sessions tagged. The URL's sslmode/sslrootcert/sslcert/sslkey are applied here
 * (resolveConnectionSettings); a URL naming a transaction-mode pooler is refused (JOBS_TRANSACTION_POOLER), as is
 * a bad TLS setting (JOBS_CONNECTION_SETTINGS_INVALID), before anything connects.
 */
export function openDatabase(env: Environment, options: OpenDatabaseOptions): postgres.Sql {
  const connectTimeout = options.connectTimeoutSeconds ?? CONNECT_TIMEOUT_SECONDS;
  const { url, tls } = resolvePoolConnection(env, connectTimeout);
  // every runner opens its connections here: a driver without our patch is refused before the first one
  assertDriverPatched();
  const scope = options.scope;
  const applicationName = options.applicationName ?? 'mbsync';
  const sockets = scope ?? options.sockets;
  const sql = postgres(url, {
    max: options.max ?? 1,
    onnotice: () => {},
    connect_timeout: connectTimeout,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    max_lifetime: null,
    prepare: false,
    // TLS, when asked for, is negotiated by the socket factory (tls-socket.ts)
    ssl: false,
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.fetchTypes === false ? { fetch_types: false } : {}),
    connection: {
      application_name: scope ? scope.sessionName(applicationName) : applicationName,
      ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: Math.round(options.statementTimeoutMs) }),
    },
    // `socket` is a postgres.js option its types do not declare
    ...({ socket: sockets ? sockets.socketFactory(tls) : plainSocketFactory(tls) } as object),
  });
  scope?.pools.add({ sql, environment: env, applicationName, role: options.role });
  return sql;
}

/**
 * Opens more pools like a job's own, through this module: dump's lanes and cleanups are then tagged and tracked by
 * the job's watchdog like every other pool, and dump never reads session names.
 */
export function poolsLike(env: Environment, role: DatabaseRole, scope: DatabaseScope | undefined): PoolOpener {
  return (applicationName) => openDatabase(env, { role, applicationName, scope, idleTimeoutSeconds: 0 });
}

/**
 * The URL postgres.js gets (the TLS and pooler parameters taken out) and how its sockets negotiate TLS, for a pool
 * whose `socket` option is a factory of this file and whose `ssl` is false. Refuses a transaction-mode pooler
 * (JOBS_TRANSACTION_POOLER) and bad TLS settings (JOBS_CONNECTION_SETTINGS_INVALID).
 */
export function resolvePoolConnection(env: Environment, connectTimeoutSeconds: number = CONNECT_TIMEOUT_SECONDS): { url: string; tls: TlsSettings | undefined } {
  const settings = resolveConnectionSettings(env);
  if (settings.transactionPooler) {
    throw new JobsError('JOBS_TRANSACTION_POOLER', transactionPoolerMessage(env.name, settings.transactionPooler),
      { details: { environment: env.name, reason: settings.transactionPooler } });
  }
  const tls = settings.tls && {
    environment: env.name,
    mode: settings.sslMode,
    options: settings.tls,
    rootCert: settings.rootCert,
    timeoutMs: connectTimeoutSeconds * 1000,
  };
  return { url: settings.url, tls };
}
