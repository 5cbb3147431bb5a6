import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Client } from 'typesense';

/** Where a Typesense server is and how long its ordinary requests may take. */
export interface TypesenseConnectionOptions {
  /** `http(s)://host[:port][/path]` */
  url: string;
  apiKey: string;
  /** Timeout of every request but imports (typesense-js never times imports out); default 10 s. */
  connectionTimeoutSeconds?: number;
}

/** A typesense-js client configured for reindexing, and the release of its sockets. */
export interface TypesenseConnection {
  client: Client;
  /** Destroys the keep-alive sockets. */
  close(): void;
}

/**
 * Opens a typesense-js client for the reindexer: the client's own retries are off (`numRetries: 0`, so the
 * backoff of {@link withRetry} is the only one), its logging is silenced (we report retries ourselves), and
 * one keep-alive agent serves every request (typesense-js otherwise builds a new agent per import).
 */
export function openTypesense(options: TypesenseConnectionOptions): TypesenseConnection {
  const url = new URL(options.url);
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol !== 'http' && protocol !== 'https') throw new TypeError(`Typesense URL must be http or https, not ${protocol}`);
  const port = url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port);
  const path = url.pathname.replace(/\/+$/, '');
  const httpAgent = new HttpAgent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({ keepAlive: true });
  const client = new Client({
    nodes: [{ host: url.hostname, port, protocol, ...(path ? { path } : {}) }],
    apiKey: options.apiKey,
    connectionTimeoutSeconds: options.connectionTimeoutSeconds ?? 10,
    numRetries: 0,
    logLevel: 'silent',
    httpAgent,
    httpsAgent,
  });
  return {
    client,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
