import { MANIFEST_SUFFIX, readManifest } from '@mbsync/dump';
import { type Environment, JobsError } from '@mbsync/jobs';
import { checkTarget, diffSchemas, introspect, judgeImport, type IntrospectOptions, type SchemaChange, type SchemaModel, type Verdict } from '@mbsync/schema-diff';
import type postgres from 'postgres';
import { openDatabase, type DatabaseRole, type DatabaseScope } from '../database.js';

/** One side of a schema comparison: a database, or a dump written by mbsync (its manifest holds its schema). */
export type SchemaSide = { kind: 'database'; environment: Environment } | { kind: 'dump'; file: string };

export interface CompareOptions {
  /** which schemas and tables of a database side are read */
  selection?: IntrospectOptions;
  /** compare owners too */
  ownership?: boolean;
  signal?: AbortSignal;
  scope?: DatabaseScope | undefined;
  /** application_name of the connections (default "mbsync diff") */
  applicationName?: string;
}

export interface SchemaComparison {
  changes: SchemaChange[];
  verdict: Verdict;
  /** rows of the target's tables a replace would drop (read when the target is a database) */
  targetRowCounts: Record<string, number>;
}

/**
 * What an import from `from` into `to` would do: the schema check that validate runs before a write, read-only.
 * A database is read in one REPEATABLE READ READ ONLY transaction; a database target is read as the import would
 * read it (the schemas the dump replaces, their row counts, what outside them depends on them). `mbsync diff` and
 * the api's schema diff both come here.
 */
export async function compareSchemas(from: SchemaSide, to: SchemaSide, options: CompareOptions = {}): Promise<SchemaComparison> {
  const model = from.kind === 'dump' ? await readDumpSchema(from.file) : await withDatabase(from.environment, 'source', options, (sql) => introspect(sql, options.selection ?? {}));
  if (to.kind === 'dump') {
    const changes = diffSchemas(model, await readDumpSchema(to.file), { ownership: options.ownership });
    return { changes, verdict: judgeImport(changes), targetRowCounts: {} };
  }
  return withDatabase(to.environment, 'target', options, async (sql) => {
    const check = await checkTarget(sql, model, { ownership: options.ownership });
    return { changes: check.changes, verdict: check.verdict, targetRowCounts: check.targetRowCounts };
  });
}

/** The schema a dump's manifest holds (`file` may name the dump or its manifest). */
export async function readDumpSchema(file: string): Promise<SchemaModel> {
  const dump = file.endsWith(MANIFEST_SUFFIX) ? file.slice(0, -MANIFEST_SUFFIX.length) : file;
  const manifest = await readManifest(dump);
  if (!manifest) throw new JobsError('JOBS_INVALID_INPUT', `${file} has no ${dump}${MANIFEST_SUFFIX}: only dumps written by mbsync carry a schema`);
  return manifest.schema;
}

/** Opens the database and runs `then` with it, closing it afterwards (and at once on cancel). */
async function withDatabase<T>(environment: Environment, role: DatabaseRole, options: CompareOptions, then: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = openDatabase(environment, { role, applicationName: options.applicationName ?? 'mbsync diff', scope: options.scope });
  const onAbort = () => void sql.end({ timeout: 0 });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await then(sql);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await sql.end({ timeout: 1 });
  }
}
