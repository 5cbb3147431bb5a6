/**
 * Shared setup of the search-index tests: a database with the demo schema and a small, hand-written data set
 * covering NULLs, bigints beyond 2^53, numerics, timestamps (before 1970 too) and arrays, plus the documents
 * the default specs must turn it into, written out by hand.
 */
import { readFile } from 'node:fs/promises';
import { Client } from 'typesense';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { DEFAULT_COLLECTION_SPECS, openTypesense, type CollectionSpec, type TypesenseConnection } from '@mbsync/search-index';
import { targetServer, type ContractTarget } from '../typesense-server/target-server.js';

const SCHEMA = new URL('../fixtures/multiboard/schema.sql', import.meta.url);

export const DEMO_SQL = `
INSERT INTO public.categories (slug, name) VALUES ('brackets', 'Brackets'), ('hooks', 'Hooks');
INSERT INTO public.components (id, slug, name, description, category_id, tags, metadata, price, is_published, created_at, updated_at) VALUES
  (1, 'small-bracket', 'Small bracket', 'A small bracket', 1, '{wall,small}', '{"v":1}', 12.34, true,  '2026-01-02 03:04:05.678+00', '2026-02-03 04:05:06+00'),
  (2, 'hook',          'Hook "J"',      NULL,              NULL, '{}',         '{}',      NULL,  false, '1969-12-31 23:59:59.5+00',   '1970-01-01 00:00:00+00'),
  (9007199254740993, 'huge-id', 'Huge id', 'ünïcødé ✓', 2, '{hooks,"with space"}', '{}', 99999999.99, true, '2030-06-15 12:00:00+02', '2030-06-15 12:00:00+02');
INSERT INTO public.parts (id, component_id, sku, name, material, width_mm, height_mm, depth_mm, weight_g, print_minutes, downloads, created_at) VALUES
  (10, 1, 'SB-1', 'Small bracket left',  'PLA', 10.25, 20.5, 0.01, 12.5, 45, 0, '2026-01-02 03:04:05+00'),
  (11, 1, 'SB-2', 'Small bracket right', NULL,  NULL,  NULL, NULL, NULL, NULL, 9007199254740993, '2026-01-02 03:04:06+00'),
  (12, 9007199254740993, 'HI-1', 'Huge part', 'PETG', 123456.78, 1, 2, 'Infinity', 2147483647, 9223372036854775807, '2020-02-29 23:59:59+00');
INSERT INTO public.attributes (id, slug, name, data_type, unit) VALUES
  (1, 'color', 'Color', 'text', NULL),
  (2, 'length', 'Length', 'number', 'mm'),
  (3, 'unused', 'Unused', 'boolean', NULL);
INSERT INTO public.part_attributes (part_id, attribute_id, value) VALUES (10, 1, 'red'), (10, 2, '42'), (12, 1, 'blue');
`;

const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** What the default specs must produce from {@link DEMO_SQL}, by collection and id. */
export const EXPECTED: Record<'components' | 'parts' | 'attributes', Record<string, Record<string, unknown>>> = {
  components: {
    '1': {
      id: '1', slug: 'small-bracket', name: 'Small bracket', description: 'A small bracket', category_id: 1, category_slug: 'brackets', category: 'Brackets',
      tags: ['wall', 'small'], price: 12.34, is_published: true, part_count: 2, created_at: epoch('2026-01-02T03:04:05.678Z'), updated_at: epoch('2026-02-03T04:05:06Z'),
    },
    '2': {
      id: '2', slug: 'hook', name: 'Hook "J"', tags: [], is_published: false, part_count: 0, created_at: -1, updated_at: 0,
    },
    '9007199254740993': {
      id: '9007199254740993', slug: 'huge-id', name: 'Huge id', description: 'ünïcødé ✓', category_id: 2, category_slug: 'hooks', category: 'Hooks',
      tags: ['hooks', 'with space'], price: 99999999.99, is_published: true, part_count: 1, created_at: epoch('2030-06-15T10:00:00Z'), updated_at: epoch('2030-06-15T10:00:00Z'),
    },
  },
  parts: {
    '10': {
      id: '10', component_id: 1, component_slug: 'small-bracket', component_name: 'Small bracket', sku: 'SB-1', name: 'Small bracket left', material: 'PLA',
      width_mm: 10.25, height_mm: 20.5, depth_mm: 0.01, weight_g: 12.5, print_minutes: 45, downloads: 0, attributes: ['color:red', 'length:42'], created_at: epoch('2026-01-02T03:04:05Z'),
    },
    '11': {
      id: '11', component_id: 1, component_slug: 'small-bracket', component_name: 'Small bracket', sku: 'SB-2', name: 'Small bracket right',
      // JSON.parse (ours, and the test server's) rounds it; the JSONL sent carries every digit (packages/search-index/test/documents.test.ts)
      downloads: Number('9007199254740993'), attributes: [], created_at: epoch('2026-01-02T03:04:06Z'),
    },
    // weight_g Infinity: not a JSON number, indexed as absent by the default spec
    '12': {
      id: '12', component_id: Number('9007199254740993'), component_slug: 'huge-id', component_name: 'Huge id', sku: 'HI-1', name: 'Huge part', material: 'PETG',
      width_mm: 123456.78, height_mm: 1, depth_mm: 2, print_minutes: 2147483647, downloads: Number('9223372036854775807'), attributes: ['color:blue'], created_at: epoch('2020-02-29T23:59:59Z'),
    },
  },
  attributes: {
    '1': { id: '1', slug: 'color', name: 'Color', data_type: 'text', part_count: 2 },
    '2': { id: '2', slug: 'length', name: 'Length', data_type: 'number', unit: 'mm', part_count: 1 },
    '3': { id: '3', slug: 'unused', name: 'Unused', data_type: 'boolean', part_count: 0 },
  },
};

/** A fresh database with the demo schema (and, unless `empty`, the demo data). */
export async function demoDatabase(prefix: string, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  await db.sql.unsafe(await readFile(SCHEMA, 'utf8'));
  if (!options.empty) await db.sql.unsafe(DEMO_SQL);
  return db;
}

/** Everything a reindex test needs: the server (local or real), a configured client, and specs named for this run. */
export interface SearchTarget {
  target: ContractTarget;
  connection: TypesenseConnection;
  client: Client;
  /** The default specs, renamed `<run prefix>_<name>` so runs never collide on a shared real Typesense. */
  specs: CollectionSpec[];
  spec(name: 'components' | 'parts' | 'attributes'): CollectionSpec;
  close(): Promise<void>;
}

export async function searchTarget(): Promise<SearchTarget> {
  const target = await targetServer();
  const connection = openTypesense({ url: target.url, apiKey: target.apiKey, connectionTimeoutSeconds: 5 });
  const specs = DEFAULT_COLLECTION_SPECS.map((spec) => ({ ...spec, name: target.name(spec.name) }));
  return {
    target,
    connection,
    client: connection.client,
    specs,
    spec: (name) => specs.find((s) => s.name === target.name(name)) as CollectionSpec,
    async close() {
      connection.close();
      await target.close();
    },
  };
}

/** Real names of the collections whose name starts with `prefix`. */
export async function collectionNames(client: Client, prefix: string): Promise<string[]> {
  return (await client.collections().retrieve()).map((c) => c.name).filter((n) => n.startsWith(prefix)).sort();
}

/** Where an alias points, or undefined. */
export async function aliasTarget(client: Client, alias: string): Promise<string | undefined> {
  try {
    return (await client.aliases(alias).retrieve()).collection_name;
  } catch {
    return undefined;
  }
}

/** Every document of a collection (or alias), by id. */
export async function documentsById(client: Client, collection: string): Promise<Map<string, Record<string, unknown>>> {
  const text = await client.collections(collection).documents().export();
  const docs = text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return new Map(docs.map((d) => [String(d.id), d]));
}

/** A retry policy that gives up fast, for tests of failure paths. */
export const FAST_RETRY = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 2000 } as const;
