import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { dumpReadError, readDumpEvents, type DumpSource } from './dump-source.js';
import { assertDriverPatched } from './driver-patch.js';
import { DumpError, throwIfAborted } from './errors.js';
import { waitForDrain } from './stream-chunks.js';
import { createdLargeObject, isLargeObjectStatement, unlinkLargeObject } from './large-objects.js';
import { describePgError } from './pg-errors.js';
import { ProgressMeter, type ProgressCallback } from './progress.js';
import { SqlStreamError, type SqlEvent } from './sql-stream.js';
import { createDataOnlyPlan, type DataOnlyPlan } from './data-only.js';
import { schemasOfDump, schemasOfModel } from './replace/schemas.js';
import { splitForPlatform, type PlatformTarget } from './platform.js';
import { completeReplace, dropReplacedSchemas, planReplace, type ReplacePlan, type ReplaceReport } from './replace/replace-plan.js';
import { verifySchemaModel } from './verify.js';
import { createMissingRoles } from './roles.js';
import { withTargetSession, type TargetSession } from './target-session.js';
import { transactionControl } from './transaction-control.js';

export type ImportMode = 'replace' | 'data-only';

export interface ImportOptions {
  /** connection to the target (one session is used); the caller creates and ends it */
  sql: postgres.Sql;
  /** environment name of the target, for messages */
  targetName: string;
  source: DumpSource;
  /** replace (default): the dumped schemas are dropped and recreated; data-only: tables truncated and reloaded */
  mode?: ImportMode;
  /** Schemas the dump holds, for replace mode when the source has no manifest (pg_dump files). */
  schemas?: string[];
  /** How long to wait for another import into the same target (default 0: fail at once). */
  lockWaitMs?: number;
  /**
   * The rows per table the dump is known to hold (the manifest's, or a streaming export's once it has
   * finished). Checked against the rows actually streamed into the target before COMMIT.
   */
  expectedTables?: () => { schema: string; name: string; rows: number; via?: string }[] | null;
  /**
   * The locked target session to write through (see withTargetSession): the runner opened it, validated and backed up in
   * it. Without one, importDump opens its own transaction on `sql` and takes the lock itself.
   */
  session?: TargetSession;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** how many tables the dump loads, when the source has no manifest to say it (streams) */
  tablesTotal?: number;
  /**
   * The tables whose rows the dump holds, when the source has no manifest to say it (a streaming export knows them
   * from its schema model before any data): what a data-only import truncates and reloads.
   */
  dataTables?: { schema: string; name: string }[];
  /** COPY … FREEZE into tables this import created or truncated (default true) */
  freeze?: boolean;
  /**
   * The dump's schema model when it has no manifest to carry it (a stream from the exporter): replace mode then
   * checks the target's catalog against it before COMMIT, as it does with a manifest's.
   */
  model?: SchemaModel;
  /** Whether the dump sets owners and privileges, when it has no manifest to say so. */
  carries?: { owners: boolean; privileges: boolean };
  /** accept that objects outside the replaced schemas which cannot be recreated are dropped (`--yes`) */
  acceptDependentLoss?: boolean;
  /** create the roles the dump names that the target lacks, NOLOGIN (`--create-roles`; needs the model) */
  createRoles?: boolean;
  /**
   * The target's platform, when the dump was written for one (its manifest says so; a stream's caller gives it): the
   * replace leaves the platform's schemas alone and loads the platform tables' rows data-only (truncated with their
   * triggers off and keys dropped, reloaded, keys re-added).
   */
  platform?: PlatformTarget;
}

export interface ImportResult {
  mode: ImportMode;
  statements: number;
  tables: { schema: string; name: string; rows: number }[];
  rows: number;
  /** large objects created (each replacing the target's one of the same OID) */
  largeObjects?: number;
  bytesRead: number;
  durationMs: number;
  /** replace mode: objects outside the replaced schemas that were recreated, or lost (with acceptDependentLoss) */
  dependents?: ReplaceReport;
  /** roles created in the target (createRoles) */
  createdRoles?: string[];
}

/**
 * Before COMMIT: every table received exactly the rows the dump says it holds. Rows loaded through a partition
 * root (`via`) are counted against the root, as the sum of its leaves'.
 */
function assertRowsMatch(loaded: ImportResult['tables'], expected: { schema: string; name: string; rows: number; via?: string }[] | null, target: string): void {
  if (!expected) return;
  const got = new Map(loaded.map((t) => [`${t.schema}.${t.name}`, t.rows]));
  const want = new Map<string, number>();
  for (const t of expected) {
    const key = t.via ?? `${t.schema}.${t.name}`;
    want.set(key, (want.get(key) ?? 0) + t.rows);
  }
  const wrong = [...want].filter(([key, rows]) => got.get(key) !== rows).map(([key, rows]) => `${key}: dump has ${rows}, loaded ${got.get(key) ?? 0}`);
  if (wrong.length > 0) {
    throw new DumpError('DUMP_VERIFY_FAILED', `rows loaded into "${target}" differ from the dump, nothing was committed: ${wrong.slice(0, 5).join('; ')}`, { details: { mismatches: wrong } });
  }
}

/**
 * Imports a dump in ONE transaction: the first error rolls everything back and is reported with the file
 * line, the statement's start and PostgreSQL's message, leaving the target exactly as it was.
 */
export async function importDump(options: ImportOptions): Promise<ImportResult> {
  const { sql, source, signal } = options;
  assertDriverPatched();
  const mode = options.mode ?? 'replace';
  // data-only truncates the tables the dump reloads: refused before any connection when nothing names them
  const reloaded = source.manifest?.tables ?? options.dataTables ?? null;
  if (mode === 'data-only' && !reloaded) {
    throw new DumpError('DUMP_MANIFEST_INVALID', `data-only import needs the dump's manifest (${source.label}.manifest.json): without it the tables to reload are unknown`);
  }
  const started = Date.now();
  const meter = new ProgressMeter(options.onProgress, { bytesTotal: source.totalBytes, tablesTotal: source.manifest?.tables.length ?? options.tablesTotal ?? 0 });
  let current: { cancel(): void } | null = null;
  const onAbort = () => current?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  // a session of our own when the caller brings none
  const inSession = async <T>(run: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> => {
    if (options.session) return run(options.session.tx);
    return withTargetSession(sql, { targetName: options.targetName, lockWaitMs: options.lockWaitMs, signal }, (session) => run(session.tx));
  };
  try {
    throwIfAborted(signal);
    return await inSession(async (tx) => {
      throwIfAborted(signal);
      let plan: DataOnlyPlan | null = null;
      let replacing: ReplacePlan | null = null;
      const model = source.manifest?.schema ?? options.model ?? null;
      const carries = source.manifest?.carries ?? options.carries ?? { owners: false, privileges: false };
      const createdRoles = options.createRoles && model ? await createMissingRoles(tx, model, carries) : [];
      const platform = options.platform ?? source.manifest?.platform ?? null;
      // with a platform, the replace builds (and the check compares) only what is not the platform's
      const split = platform && model ? splitForPlatform(model, platform) : null;
      const built = split ? split.model : model;
      const platformTables = split?.dataTables ?? [];
      let platformPlan: DataOnlyPlan | null = null;
      if (mode === 'replace') {
        replacing = await planReplace(tx, options.schemas ?? (built ? schemasOfModel(built) : schemasOfDump(source.manifest)), {
          owners: carries.owners, privileges: carries.privileges, acceptDependentLoss: options.acceptDependentLoss === true, model: built,
        });
        await dropReplacedSchemas(tx, replacing);
        if (platformTables.length > 0) {
          platformPlan = await createDataOnlyPlan(tx, platformTables);
          await platformPlan.prepare();
        }
      } else {
        plan = await createDataOnlyPlan(tx, reloaded!);
        await plan.prepare();
      }
      const tables: ImportResult['tables'] = [];
      const loadedByTable = new Map<string, ImportResult['tables'][number]>();
      // Tables created (or, data-only, truncated) by this transaction take COPY … FREEZE: rows land frozen,
      // so the first reader after COMMIT does not rewrite every page to set hint bits.
      const fresh = new Set<string>([...(plan ? reloaded! : []), ...platformTables].map((t) => `${t.schema}.${t.name}`));
      // but never a partitioned table (COPY FREEZE refuses one; pg_dump --load-via-partition-root loads through the
      // root): the target's partitioned tables, read again when a CREATE TABLE ran since the last look
      let partitioned: Set<string> | null = null;
      let statements = 0;
      let largeObjects = 0;
      for await (const event of readDumpEvents(source)) {
        throwIfAborted(signal);
        if (event.kind === 'meta') continue; // \restrict / \unrestrict only matter to psql
        if (event.kind === 'statement') {
          const control = transactionControl(event.sql);
          if (control?.action === 'skip') continue;
          if (control) {
            throw new DumpError('DUMP_SQL_SYNTAX', `${source.label}:${event.line}: ${control.keyword} is not allowed in a dump: the import runs as one transaction`, { details: { line: event.line } });
          }
          if (plan && !isDataStatement(event.sql) && !isLargeObjectStatement(event.sql)) continue;
          const largeObject = createdLargeObject(event.sql);
          if (largeObject) {
            await tx.unsafe(unlinkLargeObject(largeObject)).catch((error: unknown) => {
              throw statementError(error, event, options.targetName, source.label);
            });
            largeObjects++;
          }
          const query = tx.unsafe(event.sql).simple();
          current = query;
          await query.catch((error: unknown) => {
            throw statementError(error, event, options.targetName, source.label);
          });
          current = null;
          statements++;
          const created = createdTable(event.sql);
          if (created) {
            fresh.add(created);
            partitioned = null;
          }
          meter.update({ bytesDone: source.bytesRead });
          continue;
        }
        const table = copyTarget(event.sql);
        if (options.freeze !== false && fresh.has(table.label)) {
          partitioned ??= await partitionedTables(tx);
          if (!partitioned.has(table.label)) event.sql = withFreeze(event.sql);
        }
        meter.update({ table: table.label, bytesDone: source.bytesRead }, true);
        const rows = await copyIn(tx, event, (q) => (current = q), () => meter.update({ bytesDone: source.bytesRead }), options, source.label);
        current = null;
        statements++;
        // a table's rows may come in several COPY blocks (a parallel export): counted per table
        const loaded = loadedByTable.get(table.label);
        if (loaded) loaded.rows += rows;
        else {
          const entry = { schema: table.schema, name: table.name, rows };
          loadedByTable.set(table.label, entry);
          tables.push(entry);
        }
        meter.update({ table: null, tablesDone: tables.length, rowsDone: meter.state.rowsDone + rows }, true);
      }
      source.assertComplete();
      assertRowsMatch(tables, options.expectedTables?.() ?? source.manifest?.tables ?? null, options.targetName);
      const expectedLargeObjects = source.manifest?.largeObjects;
      if (expectedLargeObjects !== undefined && expectedLargeObjects !== largeObjects) {
        throw new DumpError('DUMP_VERIFY_FAILED', `large objects loaded into "${options.targetName}" differ from the dump, nothing was committed: dump has ${expectedLargeObjects}, loaded ${largeObjects}`);
      }
      if (plan) await plan.finish();
      if (platformPlan) await platformPlan.finish();
      let dependents: ReplaceReport | undefined;
      if (replacing) {
        meter.update({ message: 'recreating dependent objects and checking the catalog' }, true);
        dependents = await completeReplace(tx, replacing);
        if (built) await verifySchemaModel(tx, built, replacing.schemas, options.targetName, carries);
      }
      const rows = tables.reduce((sum, t) => sum + t.rows, 0);
      meter.update({ bytesDone: source.totalBytes || source.bytesRead, tablesTotal: tables.length, message: 'committing' }, true);
      return { mode, statements, tables, rows, largeObjects, bytesRead: source.bytesRead, durationMs: Date.now() - started, ...(dependents ? { dependents } : {}), ...(createdRoles.length > 0 ? { createdRoles } : {}) };
    });
  } catch (error) {
    if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', `import into "${options.targetName}" cancelled; nothing was changed`, { cause: error });
    throw describePgError(error, 'target', options.targetName);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** In data-only mode only session settings, COPY blocks and sequence values are taken from the file. */
function isDataStatement(text: string): boolean {
  return /^(SET\s|SELECT\s+pg_catalog\.set_config\(|SELECT\s+pg_catalog\.setval\()/i.test(text);
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const COPY_TARGET = new RegExp(String.raw`^COPY\s+(?:(${IDENT})\.)?(${IDENT})`, 'i');

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

const CREATE_TABLE = new RegExp(String.raw`^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:(${IDENT})\.)?(${IDENT})`, 'i');

/** `schema.table` of a CREATE TABLE statement (partitions included), or null. */
function createdTable(statement: string): string | null {
  const m = CREATE_TABLE.exec(statement);
  return m?.[2] ? `${m[1] ? unquote(m[1]) : 'public'}.${unquote(m[2])}` : null;
}

/** `schema.table` of every partitioned table in the target, as the transaction sees it. */
async function partitionedTables(tx: postgres.TransactionSql): Promise<Set<string>> {
  const rows = await tx<{ schema: string; name: string }[]>`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'p'`;
  return new Set(rows.map((r) => `${r.schema}.${r.name}`));
}

/** Adds FREEZE to a plain `COPY … FROM stdin;` (one that already has options is left alone). */
function withFreeze(statement: string): string {
  return /\sFROM\s+stdin\s*;\s*$/i.test(statement) ? statement.replace(/\s+FROM\s+stdin\s*;\s*$/i, ' FROM stdin WITH (FREEZE);') : statement;
}

function copyTarget(statement: string): { schema: string; name: string; label: string } {
  const m = COPY_TARGET.exec(statement);
  const schema = m?.[1] ? unquote(m[1]) : 'public';
  const name = m?.[2] ? unquote(m[2]) : '?';
  return { schema, name, label: `${schema}.${name}` };
}

const NEWLINE = 0x0a;

/** Streams one COPY block into `COPY … FROM STDIN` with backpressure; returns the number of rows. */
async function copyIn(
  tx: postgres.TransactionSql,
  event: Extract<SqlEvent, { kind: 'copy' }>,
  setCurrent: (q: { cancel(): void }) => void,
  tick: () => void,
  options: ImportOptions,
  label: string,
): Promise<number> {
  const query = tx.unsafe(event.sql);
  setCurrent(query);
  let rows = 0;
  let writable: Writable | null = null;
  try {
    // resolves with the stream once the server is in COPY mode; a server error later destroys the stream
    writable = (await query.writable()) as Writable;
    // errors are read from writable.errored; without a listener a late one would crash the process
    writable.on('error', () => {});
    for await (const chunk of event.data) {
      if (writable.destroyed) break;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) rows++;
      if (!writable.write(chunk)) await waitForDrain(writable, () => new DumpError('DUMP_IMPORT_FAILED', 'the target connection closed during COPY'));
      tick();
    }
    if (writable.errored) throw writable.errored;
    writable.end();
    // 'finish' comes with the server's CommandComplete, an error with its ErrorResponse (patched driver)
    await finished(writable);
  } catch (error) {
    // Leave COPY mode (CopyFail) so the transaction can roll back on this connection.
    if (writable && !writable.destroyed) writable.destroy(error instanceof Error ? error : new Error(String(error)));
    throw statementError(writable?.errored ?? error, event, options.targetName, label);
  }
  return rows;
}

/** An error that names the file line, the statement's start and the server's message. */
function statementError(error: unknown, event: SqlEvent, target: string, label: string): DumpError {
  // the reader refused the COPY data itself (e.g. no \. line before the end of the file)
  if (error instanceof SqlStreamError) return dumpReadError(error, label) as DumpError;
  if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') return error;
  const described = describePgError(error, 'target', target);
  if (described.code !== 'DUMP_QUERY_FAILED') return described;
  const e = error as { message?: string; where?: string; code?: string };
  let line = event.line;
  const copyLine = /COPY [^,]+, line (\d+)/.exec(e.where ?? '');
  if (event.kind === 'copy' && copyLine) line = event.line + Number(copyLine[1]);
  const text = event.kind === 'meta' ? `\\${event.command}` : event.sql;
  const start = text.split('\n')[0]!.slice(0, 100);
  return new DumpError('DUMP_IMPORT_FAILED', `${label}:${line}: ${e.message ?? String(error)} (in: ${start}${text.length > start.length ? '…' : ''}); the target was left unchanged`, {
    cause: error,
    details: { line, statement: start, pgCode: e.code },
  });
}
