import type postgres from 'postgres';
import { fingerprintSql, readCollectionRecords, specHash, type CollectionRecord, type DocumentsFingerprint } from './collection-record.js';
import { createDocumentMapper } from './documents.js';
import { specReferences } from './spec-references.js';
import { idColumn, specQuery, type CollectionSpec } from './spec.js';

/** When a collection is rebuilt rather than updated by id. */
export interface DocumentChangeLimits {
  /** more changed documents than this: rebuilt (default 50,000) */
  maxDocuments: number;
  /** more than this share of the collection's documents changed: rebuilt (default 0.2)… */
  maxShare: number;
  /** …unless no more than this many changed (default 1,000: a few documents are always cheaper by id) */
  minDocuments: number;
  /** JSONL bytes of the changed documents held from the target's transaction to the update (default 64 MiB) */
  maxBytes: number;
}

export const DEFAULT_DOCUMENT_CHANGE_LIMITS: Readonly<DocumentChangeLimits> = Object.freeze({
  maxDocuments: 50_000,
  maxShare: 0.2,
  minDocuments: 1_000,
  maxBytes: 64 << 20,
});

/** A collection that can be brought up to date by id: its alias's collection holds `before`, the target now `after`. */
export interface DocumentUpdate {
  name: string;
  mode: 'update';
  /** the physical collection the last build or update left behind the alias (the record's) */
  collection: string;
  specHash: string;
  before: DocumentsFingerprint;
  after: DocumentsFingerprint;
  /** the new and changed documents, as JSONL lines */
  upserts: string[];
  /** ids of the documents the target no longer has */
  deletes: string[];
}

/** A collection that must be rebuilt, and why. */
export interface DocumentRebuild {
  name: string;
  mode: 'rebuild';
  reason: string;
}

export type DocumentChanges = DocumentUpdate | DocumentRebuild;

/** The hooks syncIncremental calls in the target's transaction, and what they found. */
export interface DocumentChangeTracker {
  /** before the patch: the rows of every spec the patch may change, as (id, row hash), kept in a temp table */
  beforePatch(tx: postgres.TransactionSql, written: string[]): Promise<void>;
  /** after the verify: per spec, what changed, appeared or vanished (or why it cannot be told) */
  afterVerify(tx: postgres.TransactionSql): Promise<void>;
  /** per spec, once afterVerify ran */
  changes(): DocumentChanges[];
}

export interface DocumentChangeOptions {
  specs: readonly CollectionSpec[];
  limits?: Partial<DocumentChangeLimits> | undefined;
  /** rows per cursor fetch of the changed documents (default 1000) */
  batchSize?: number | undefined;
  onStep?: ((message: string) => void) | undefined;
}

/**
 * Settings that change how a row prints (and how its values parse): the reindex reads in a fresh session, so the
 * rows are hashed and read here with the session's defaults too, then the sync's settings are put back.
 */
const OUTPUT_SETTINGS = [
  'datestyle', 'intervalstyle', 'timezone', 'extra_float_digits', 'bytea_output', 'lc_monetary', 'lc_numeric', 'lc_time',
  'search_path', 'row_security', 'standard_conforming_strings', 'xmloption', 'xmlbinary',
];

/** The alias of the spec query's row in the statements below (a whole-row reference: `q` could be one of its columns). */
const ROW = 'mbsync_q';

interface Tracked {
  spec: CollectionSpec;
  hash: string;
  record?: CollectionRecord;
  /** the temp table holding (id, h) of the rows before the patch */
  before?: string;
  outcome?: DocumentChanges;
}

/**
 * Tracks which documents an incremental sync changes, for the by-id update after COMMIT. A collection is updated by
 * id only when the target's record says which collection was built from exactly the rows the target held before the
 * patch (count and sum of row hashes, as the spec query returns them): then that collection plus the changes equals
 * what a rebuild would produce. Every failure here (a query, a limit) only makes the collection rebuilt: each step
 * runs in a savepoint, and the sync never fails because of it.
 */
export function trackDocumentChanges(options: DocumentChangeOptions): DocumentChangeTracker {
  const limits = { ...DEFAULT_DOCUMENT_CHANGE_LIMITS, ...options.limits };
  const batchSize = options.batchSize ?? 1000;
  const tracked: Tracked[] = options.specs.map((spec) => ({ spec, hash: specHash(spec) }));
  const step = options.onStep ?? (() => {});
  let recordsRead = false;
  const rebuild = (t: Tracked, reason: string) => {
    t.outcome ??= { name: t.spec.name, mode: 'rebuild', reason };
  };
  const open = () => tracked.filter((t) => t.outcome === undefined);

  /** Runs one step in a savepoint; a failure rebuilds the collections it concerns. */
  const guarded = async (tx: postgres.TransactionSql, those: Tracked[], what: string, run: (sp: postgres.TransactionSql) => Promise<void>) => {
    try {
      await tx.savepoint(run);
    } catch (error) {
      for (const t of those) rebuild(t, `${what} failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    }
  };

  const readRecords = async (tx: postgres.TransactionSql) => {
    if (recordsRead) return;
    recordsRead = true;
    await guarded(tx, tracked, 'reading the record of the collections', async (sp) => {
      const records = await readCollectionRecords(sp);
      for (const t of tracked) {
        const record = records.get(t.spec.name);
        if (!record) rebuild(t, 'no record of what its collection was built from');
        else if (record.specHash !== t.hash) rebuild(t, 'its spec changed since its collection was built');
        else t.record = record;
      }
    });
  };

  return {
    async beforePatch(tx, written) {
      const set = await withReadSettings(tx, async () => {
        await readRecords(tx);
        for (const [i, t] of tracked.entries()) {
          if (t.outcome) continue;
          let touched = true;
          await guarded(tx, [t], 'finding the relations of the spec query', async (sp) => {
            touched = await readsWritten(sp, t.spec, written);
          });
          if (!touched || t.outcome) continue;
          step(`${t.spec.name}: hashing the documents before the patch`);
          const table = `mbsync_docs_before_${i}`;
          await guarded(tx, [t], 'hashing the documents before the patch', async (sp) => {
            await sp.unsafe(`CREATE TEMP TABLE ${table} ON COMMIT DROP AS ${idsAndHashes(t.spec)}`);
            const held = await fingerprintOf(sp, table);
            if (!sameFingerprint(held, t.record!)) rebuild(t, `its collection was built from other rows than the target held (${t.record!.rows} rows then, ${held.rows} now)`);
            else t.before = table;
          });
        }
      });
      if (!set) for (const t of open()) rebuild(t, 'the session settings could not be read');
    },

    async afterVerify(tx) {
      const set = await withReadSettings(tx, async () => {
        await readRecords(tx);
        for (const t of open()) {
          const record = t.record!;
          if (t.before === undefined) {
            // not written by the patch (or nothing was): the collection is current if it was built from these rows
            step(`${t.spec.name}: checking the documents`);
            await guarded(tx, [t], 'hashing the documents', async (sp) => {
              const [now] = await sp.unsafe<{ rows: string; checksum: string }[]>(fingerprintSql(specQuery(t.spec)));
              const held = { rows: Number(now!.rows), checksum: now!.checksum };
              if (!sameFingerprint(held, record)) rebuild(t, `its collection was built from other rows than the target holds (${record.rows} rows then, ${held.rows} now)`);
              else t.outcome = { name: t.spec.name, mode: 'update', collection: record.collection, specHash: t.hash, before: held, after: held, upserts: [], deletes: [] };
            });
            continue;
          }
          step(`${t.spec.name}: finding the changed documents`);
          await guarded(tx, [t], 'finding the changed documents', async (sp) => {
            const update = await changesOf(sp, t, t.before!, limits, batchSize);
            if (typeof update === 'string') rebuild(t, update);
            else t.outcome = update;
          });
        }
      });
      if (!set) for (const t of open()) rebuild(t, 'the session settings could not be read');
    },

    changes() {
      return tracked.map((t) => t.outcome ?? { name: t.spec.name, mode: 'rebuild', reason: 'the sync did not report its changes' });
    },
  };
}

/** The changes of one spec between its temp table `before` and the rows now, or the reason to rebuild. */
async function changesOf(tx: postgres.TransactionSql, t: Tracked, before: string, limits: DocumentChangeLimits, batchSize: number): Promise<DocumentUpdate | string> {
  const after = before.replace('_before_', '_after_');
  await tx.unsafe(`CREATE TEMP TABLE ${after} ON COMMIT DROP AS ${idsAndHashes(t.spec)}`);
  const [ids] = await tx.unsafe<{ unique: boolean }[]>(`SELECT
    (SELECT pg_catalog.count(*) = pg_catalog.count(DISTINCT id) AND pg_catalog.count(*) = pg_catalog.count(id) FROM ${before})
    AND (SELECT pg_catalog.count(*) = pg_catalog.count(DISTINCT id) AND pg_catalog.count(*) = pg_catalog.count(id) FROM ${after}) AS unique`);
  if (!ids!.unique) return `its query returns a NULL or repeated ${idColumn(t.spec)}`;
  const held = await fingerprintOf(tx, before);
  const now = await fingerprintOf(tx, after);
  const [counted] = await tx.unsafe<{ changed: string }[]>(`
    SELECT pg_catalog.count(*)::text AS changed FROM ${after} a FULL JOIN ${before} b ON b.id = a.id WHERE a.h IS DISTINCT FROM b.h`);
  const changed = Number(counted!.changed);
  const size = Math.max(held.rows, now.rows);
  if (changed > limits.maxDocuments || (changed > limits.minDocuments && changed > size * limits.maxShare)) {
    return `${changed} of its ${size} documents changed: a rebuild is cheaper`;
  }
  const deletes = (await tx.unsafe<{ id: string }[]>(`SELECT b.id FROM ${before} b WHERE NOT EXISTS (SELECT 1 FROM ${after} a WHERE a.id = b.id) ORDER BY 1`)).map((r) => r.id);
  const upserts: string[] = [];
  let bytes = 0;
  const mapper = createDocumentMapper(t.spec);
  const query = `
    SELECT c.h::text AS mbsync_expected, pg_catalog.hashtextextended(${ROW}::text, 0)::text AS mbsync_hash, ${ROW}.*
    FROM (${specQuery(t.spec)}) AS ${ROW}
    JOIN (SELECT a.id, a.h FROM ${after} a LEFT JOIN ${before} b ON b.id = a.id WHERE b.h IS DISTINCT FROM a.h) c ON c.id = (${ROW}.${quoteIdent(idColumn(t.spec))})::text`;
  for await (const rows of tx.unsafe<Record<string, unknown>[]>(query).cursor(batchSize)) {
    for (const row of rows) {
      // read a third time: a table the sync does not lock may have changed since the hashes were taken
      if (row.mbsync_expected !== row.mbsync_hash) return 'its rows changed while they were read (a table outside the copy is being written)';
      const converted = mapper(row);
      if (!converted.ok) return `the row of id ${converted.id ?? '(none)'} cannot be a document (${converted.error})`;
      bytes += converted.json.length;
      if (bytes > limits.maxBytes) return `its changed documents exceed ${limits.maxBytes} bytes: a rebuild streams them instead`;
      upserts.push(converted.json);
    }
  }
  if (upserts.length + deletes.length !== changed) return `its changed rows could not all be read (${upserts.length + deletes.length} of ${changed})`;
  return { name: t.spec.name, mode: 'update', collection: t.record!.collection, specHash: t.hash, before: held, after: now, upserts, deletes };
}

/** The spec's rows as (id text, row hash): what a temp table keeps. */
function idsAndHashes(spec: CollectionSpec): string {
  return `SELECT (${ROW}.${quoteIdent(idColumn(spec))})::text AS id, pg_catalog.hashtextextended(${ROW}::text, 0) AS h FROM (${specQuery(spec)}) AS ${ROW}`;
}

async function fingerprintOf(tx: postgres.TransactionSql, table: string): Promise<DocumentsFingerprint> {
  const [row] = await tx.unsafe<{ rows: string; checksum: string }[]>(`SELECT pg_catalog.count(*)::text AS rows, coalesce(pg_catalog.sum(h), 0)::text AS checksum FROM ${table}`);
  return { rows: Number(row!.rows), checksum: row!.checksum };
}

function sameFingerprint(a: DocumentsFingerprint, b: DocumentsFingerprint): boolean {
  return a.rows === b.rows && a.checksum === b.checksum;
}

/**
 * Whether the spec query may read one of the written relations: the relations its text names, through views (their
 * rewrite rules' dependencies) and inheritance (partitions and parents both ways). A query naming none is taken to
 * read anything. What this misses (a function reading a table) is caught after the patch: the rows' fingerprint no
 * longer matches the record, and the collection is rebuilt.
 */
async function readsWritten(tx: postgres.TransactionSql, spec: CollectionSpec, written: string[]): Promise<boolean> {
  const names = specReferences(spec.query).relations.map((r) => `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`);
  if (names.length === 0) return true;
  const [row] = await tx.unsafe<{ touched: boolean }[]>(`
    WITH RECURSIVE written(oid) AS (
      SELECT pg_catalog.to_regclass(x)::oid FROM pg_catalog.jsonb_array_elements_text($1::jsonb) AS x WHERE pg_catalog.to_regclass(x) IS NOT NULL
      UNION
      SELECT CASE WHEN i.inhparent = w.oid THEN i.inhrelid ELSE i.inhparent END
      FROM pg_catalog.pg_inherits i JOIN written w ON w.oid IN (i.inhparent, i.inhrelid)
    ), read(oid) AS (
      SELECT pg_catalog.to_regclass(x)::oid FROM pg_catalog.jsonb_array_elements_text($2::jsonb) AS x WHERE pg_catalog.to_regclass(x) IS NOT NULL
      UNION
      SELECT d.refobjid FROM read r
      JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = r.oid
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
    )
    SELECT EXISTS (SELECT 1 FROM read r JOIN written w ON w.oid = r.oid) AS touched`, [written as never, names as never]);
  return row!.touched;
}

/**
 * Runs `work` with the output settings at the session's defaults, then puts the transaction's back; each in a
 * savepoint (released, so the settings stay), so that not even this fails the sync. False when they could not be set.
 */
async function withReadSettings(tx: postgres.TransactionSql, work: () => Promise<void>): Promise<boolean> {
  const which = `pg_catalog.lower(name) IN (${OUTPUT_SETTINGS.map((n) => `'${n}'`).join(', ')})`;
  let saved: { name: string; value: string }[];
  try {
    saved = await tx.savepoint(async (sp) => {
      const values = await sp.unsafe<{ name: string; value: string }[]>(`SELECT name, pg_catalog.current_setting(name) AS value FROM pg_catalog.pg_settings WHERE ${which}`);
      await sp.unsafe(`SELECT pg_catalog.set_config(name, reset_val, true) FROM pg_catalog.pg_settings WHERE ${which}`);
      return [...values];
    });
  } catch {
    return false;
  }
  try {
    await work();
  } finally {
    await tx.savepoint((sp) => sp.unsafe(`SELECT pg_catalog.set_config(s.name, s.value, true) FROM pg_catalog.jsonb_to_recordset($1::jsonb) AS s(name text, value text)`, [saved as never]))
      .catch(() => {});
  }
  return true;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
