import type postgres from 'postgres';
import { grantStatements } from './ddl/privileges.js';
import { quoteIdent } from './ddl/quote.js';
import { throwIfAborted } from './errors.js';
import { quoteLiteral } from './sql-literal.js';

/** Bytes of a large object per lo_put statement (its hex text is twice that): bounded memory whatever the size. */
export const LARGE_OBJECT_CHUNK = 256 * 1024;
/** Large objects whose first piece is read in one query (small objects are the common case). */
const FIRST_PIECES_PER_QUERY = 16;
/** Large objects read from pg_largeobject_metadata per query. */
const PAGE = 1000;

/** pg_dump's rule: the database's large objects go into a dump unless it is limited to some schemas (or told). */
export function includesLargeObjects(selection: { schemas?: string[]; largeObjects?: boolean }): boolean {
  return selection.largeObjects ?? selection.schemas === undefined;
}

export interface LargeObjectOptions {
  /** ALTER LARGE OBJECT … OWNER TO (the roles must exist in the target) */
  owners?: boolean;
  /** GRANT/REVOKE rebuilding each object's ACL */
  privileges?: boolean;
  signal?: AbortSignal;
}

/** What {@link largeObjectStatements} produced so far. */
export interface LargeObjectStats {
  count: number;
  bytes: number;
}

/**
 * Statements recreating every large object as `tx`'s snapshot sees it, in OID order: `lo_create`, the data as
 * `lo_put` pieces of at most {@link LARGE_OBJECT_CHUNK} bytes read with `lo_get` (no object is ever held whole), then
 * owner, grants and comment — after the data, since lo_put needs UPDATE on the object and a new owner need not
 * grant it. `stats` counts the objects and bytes as they go.
 */
export async function* largeObjectStatements(tx: postgres.TransactionSql, options: LargeObjectOptions, stats: LargeObjectStats): AsyncGenerator<string> {
  let after = '0';
  for (;;) {
    const page = await tx.unsafe<{ oid: string; owner: string; acl: string[] | null; comment: string | null }[]>(`
      SELECT m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner, m.lomacl::text[] AS acl, d.description AS comment
      FROM pg_catalog.pg_largeobject_metadata m
      LEFT JOIN pg_catalog.pg_description d ON d.objoid = m.oid AND d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass AND d.objsubid = 0
      WHERE m.oid > ${after}::pg_catalog.oid ORDER BY m.oid LIMIT ${PAGE}`);
    if (page.length === 0) return;
    after = page.at(-1)!.oid;
    for (let i = 0; i < page.length; i += FIRST_PIECES_PER_QUERY) {
      throwIfAborted(options.signal);
      const group = page.slice(i, i + FIRST_PIECES_PER_QUERY);
      const firsts = await tx.unsafe<{ oid: string; data: Buffer }[]>(`
        SELECT o::text AS oid, pg_catalog.lo_get(o, 0, ${LARGE_OBJECT_CHUNK}) AS data
        FROM pg_catalog.unnest(ARRAY[${group.map((lo) => `${lo.oid}::pg_catalog.oid`).join(', ')}]) o`);
      const first = new Map(firsts.map((r) => [r.oid, r.data]));
      for (const lo of group) {
        yield `SELECT pg_catalog.lo_create('${lo.oid}');`;
        let piece = first.get(lo.oid)!;
        let offset = 0;
        while (piece.length > 0) {
          yield `SELECT pg_catalog.lo_put('${lo.oid}', ${offset}, '\\x${piece.toString('hex')}');`;
          offset += piece.length;
          stats.bytes += piece.length;
          if (piece.length < LARGE_OBJECT_CHUNK) break;
          throwIfAborted(options.signal);
          const [next] = await tx.unsafe<{ data: Buffer }[]>(`SELECT pg_catalog.lo_get(${lo.oid}::pg_catalog.oid, ${offset}, ${LARGE_OBJECT_CHUNK}) AS data`);
          piece = next!.data;
        }
        if (options.owners) yield `ALTER LARGE OBJECT ${lo.oid} OWNER TO ${quoteIdent(lo.owner)};`;
        if (options.privileges) yield* grantStatements(`LARGE OBJECT ${lo.oid}`, lo);
        if (lo.comment !== null) yield `COMMENT ON LARGE OBJECT ${lo.oid} IS ${quoteLiteral(lo.comment)};`;
        stats.count++;
      }
    }
  }
}

const LO_CREATE = /^SELECT\s+pg_catalog\.lo_create\(\s*'(\d+)'(?:::pg_catalog\.oid)?\s*\)\s*;?\s*$/i;

/** The OID a `SELECT pg_catalog.lo_create('<oid>');` statement (ours or pg_dump's) creates, else null. */
export function createdLargeObject(statement: string): string | null {
  return LO_CREATE.exec(statement)?.[1] ?? null;
}

/**
 * Run before a dump's lo_create: the dump's large object replaces the target's one of the same OID (lo_create
 * would fail on it). The target's other large objects are kept: nothing the dump does not name is destroyed.
 */
export function unlinkLargeObject(oid: string): string {
  return `SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = ${oid}::pg_catalog.oid`;
}

const LARGE_OBJECT_STATEMENT = new RegExp([
  String.raw`^SELECT\s+pg_catalog\.(?:lo_create|lo_put|lo_open|lowrite|lo_close|lo_from_bytea)\(`,
  String.raw`^ALTER\s+LARGE\s+OBJECT\s`,
  String.raw`^COMMENT\s+ON\s+LARGE\s+OBJECT\s`,
  String.raw`^(?:GRANT|REVOKE)\s[^;]*?\sON\s+LARGE\s+OBJECT\s`,
].join('|'), 'i');

/** A statement that creates or fills a large object (ours or pg_dump's): data, taken in data-only mode too. */
export function isLargeObjectStatement(statement: string): boolean {
  return LARGE_OBJECT_STATEMENT.test(statement);
}

/**
 * Copies every large object of `from`'s snapshot by running the statements on a target (the parallel sync's final
 * transaction), each replacing the target's object of the same OID.
 */
export async function copyLargeObjects(from: postgres.TransactionSql, run: (statement: string) => Promise<void>, options: LargeObjectOptions): Promise<LargeObjectStats> {
  const stats = { count: 0, bytes: 0 };
  for await (const statement of largeObjectStatements(from, options, stats)) {
    const oid = createdLargeObject(statement);
    if (oid) await run(unlinkLargeObject(oid));
    await run(statement);
  }
  return stats;
}
