/**
 * Where the contract tests send their requests: a fresh local test server, or a real Typesense when
 * TYPESENSE_URL and TYPESENSE_API_KEY are set. Tests that need fault injection or version switching
 * pass `localOnly` to node:test, which skips them (printing the reason) only against a real server.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { TypesenseVersion } from './messages.js';
import { createTypesenseServer, type TypesenseServer } from './server.js';

const realUrl = process.env.TYPESENSE_URL;
const realKey = process.env.TYPESENSE_API_KEY;

/** Set when the contract tests target a real Typesense instead of the local test server. */
export const REAL_TYPESENSE: { url: string; apiKey: string } | undefined =
  realUrl !== undefined && realUrl !== '' && realKey !== undefined && realKey !== ''
    ? { url: realUrl.replace(/\/+$/, ''), apiKey: realKey }
    : undefined;

/** node:test options for tests that need the local server's fault injection or version switch. */
export const localOnly: { skip: string | false } = {
  skip: REAL_TYPESENSE === undefined ? false : 'needs the local test server (fault injection or version switching); TYPESENSE_URL targets a real Typesense',
};

/** A response read whole. */
export interface TargetResponse {
  status: number;
  contentType: string | null;
  text: string;
  /** The body parsed as JSON (throws if it is not). */
  json(): unknown;
}

/** Options of {@link ContractTarget.request}. */
export interface RequestOptions {
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** gzip the body. */
  gzip?: boolean;
  /** The API key to send; `null` sends none. Default: the target's key. */
  key?: string | null;
  headers?: Record<string, string>;
}

/** The server under test. */
export interface ContractTarget {
  readonly url: string;
  readonly apiKey: string;
  /** The local server, or `undefined` against a real Typesense. */
  readonly local: TypesenseServer | undefined;
  /** The target's major version (a real server's comes from `GET /debug`). */
  readonly version: TypesenseVersion;
  /** Sends one request with the API key header. */
  request(method: string, path: string, options?: RequestOptions): Promise<TargetResponse>;
  /** A collection or alias name unique to this run (real servers are shared). */
  name(label: string): string;
  /** Closes the local server, or drops what this run created on a real one. */
  close(): Promise<void>;
}

/** Starts (or connects to) the server the contract tests run against. */
export async function targetServer(): Promise<ContractTarget> {
  const local = REAL_TYPESENSE === undefined ? await createTypesenseServer() : undefined;
  const url = local?.url ?? (REAL_TYPESENSE as { url: string }).url;
  const apiKey = local?.apiKey ?? (REAL_TYPESENSE as { apiKey: string }).apiKey;
  const prefix = `ct_${randomBytes(3).toString('hex')}_`;

  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<TargetResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? apiKey : options.key;
    if (key !== null) headers['X-TYPESENSE-API-KEY'] = key;
    let body: string | Buffer | undefined;
    if (options.body !== undefined) body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (body !== undefined && options.gzip === true) body = gzipSync(body);
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type'), text, json: () => JSON.parse(text) as unknown };
  };

  let version: TypesenseVersion = local?.version ?? 29;
  if (local === undefined) {
    const debug = await request('GET', '/debug');
    const major = Number.parseInt(String((debug.json() as { version?: string }).version ?? '29'), 10);
    version = major <= 27 ? 27 : major === 28 ? 28 : 29;
  }

  return {
    url,
    apiKey,
    local,
    version,
    request,
    name: (label) => `${prefix}${label}`,
    async close() {
      if (local !== undefined) return local.close();
      const aliases = (await request('GET', '/aliases')).json() as { aliases: { name: string }[] };
      for (const alias of aliases.aliases.filter((a) => a.name.startsWith(prefix))) {
        await request('DELETE', `/aliases/${encodeURIComponent(alias.name)}`);
      }
      const collections = (await request('GET', '/collections')).json() as { name: string }[];
      for (const collection of collections.filter((c) => c.name.startsWith(prefix))) {
        await request('DELETE', `/collections/${encodeURIComponent(collection.name)}`);
      }
    },
  };
}

/** A schema most tests share: a required string, an int32 default sorting field, optional extras. */
export function partsSchema(name: string): Record<string, unknown> {
  return {
    name,
    default_sorting_field: 'rank',
    fields: [
      { name: 'title', type: 'string' },
      { name: 'rank', type: 'int32' },
      { name: 'price', type: 'float', optional: true },
      { name: 'stock', type: 'int64', optional: true },
      { name: 'active', type: 'bool', optional: true },
      { name: 'tags', type: 'string[]', optional: true },
      { name: 'sizes', type: 'int32[]', optional: true },
      { name: 'weights', type: 'float[]', optional: true },
    ],
  };
}

/** Creates a collection from {@link partsSchema} and returns its name. */
export async function createParts(target: ContractTarget, label: string): Promise<string> {
  const name = target.name(label);
  const res = await target.request('POST', '/collections', { body: partsSchema(name) });
  if (res.status !== 201) throw new Error(`creating ${name}: ${res.status} ${res.text}`);
  return name;
}

/** Imports JSONL (or an array of documents) and returns the raw response. */
export async function importLines(
  target: ContractTarget,
  collection: string,
  lines: string | unknown[],
  query = '',
): Promise<TargetResponse> {
  const body = typeof lines === 'string' ? lines : lines.map((doc) => JSON.stringify(doc)).join('\n');
  return target.request('POST', `/collections/${encodeURIComponent(collection)}/documents/import${query}`, {
    body,
    headers: { 'Content-Type': 'text/plain' },
  });
}
