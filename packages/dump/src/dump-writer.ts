import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import { modelSchemas, readDependents, type SchemaModel } from '@mbsync/schema-diff';
import { readSourceSnapshot, type DumpSelection, type SourceSnapshot } from './source-snapshot.js';
import { renderDependent } from './replace/dependents-ddl.js';
import { BatchedSink } from './batched-sink.js';
import { BLOCK_BYTES, DataCopier, openHelperLanes, type TableStats } from './data-copier.js';
import { qualify, renderSchema, type RenderOptions } from './ddl.js';
import { HEADER_MARK, RESTORE_SETTINGS, TOOL_NAME, TOOL_VERSION, TRAILER_MARK } from './dump-format.js';
import { assertDriverPatched } from './driver-patch.js';
import { includesLargeObjects, largeObjectStatements } from './large-objects.js';
import { DumpError, throwIfAborted } from './errors.js';
import { describePgError } from './pg-errors.js';
import { ProgressMeter, type ProgressCallback } from './progress.js';
import { quoteLiteral } from './sql-literal.js';
import { settledBegin } from './settled-begin.js';
import { poolOpener, type PoolOpener } from './parallel/staging-schemas.js';


export type { DumpSelection };

export interface WriteDumpOptions extends DumpSelection {
  sourceName: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** How long to wait for ACCESS SHARE locks on the dumped tables (default 30 s). */
  lockTimeoutMs?: number;
  /**
   * Connections reading table data at once (default 1): above 1, that many minus one more connections like
   * `sql` are opened, join the exporting transaction's snapshot, and tables' rows may come in several COPY blocks
   * (see DataCopier).
   */
  jobs?: number;
  /**
   * Also write the definitions of the database's objects outside the dumped schemas that depend on them (a view
   * elsewhere over a dumped table, a foreign key into one, a policy calling a dumped function…): a backup taken
   * before a replace restores them too.
   */
  dependents?: boolean;
  /** see SnapshotOptions.census */
  census?: boolean;
  /** how the helper lanes' connections are opened (a runner's; default: like `sql`) */
  openSource?: PoolOpener;
  /** with several lanes, the most of a table one COPY block holds (default 8 MiB; tests set less) */
  blockBytes?: number;
}

export type { TableStats } from './data-copier.js';

export interface DumpStats {
  serverVersion: string;
  serverVersionNum: number;
  startedAt: string;
  finishedAt: string;
  schema: SchemaModel;
  tables: TableStats[];
  sequences: number;
  /** large objects dumped */
  largeObjects: number;
  rows: number;
  dataBytes: number;
  /** bytes written to the sink, before any compression */
  bytesWritten: number;
}

/**
 * Writes a complete plain-SQL dump of the database behind `sql` into `sink` from one
 * REPEATABLE READ READ ONLY snapshot. Row data is the server's own COPY text, passed through untouched.
 * The sink is not ended; the caller owns it.
 */
export async function writeDump(sql: postgres.Sql, sink: Writable, options: WriteDumpOptions): Promise<DumpStats> {
  assertDriverPatched();
  throwIfAborted(options.signal);
  try {
    return await settledBegin(sql, 'isolation level repeatable read read only', async (tx) => {
      const snapshot = await readSourceSnapshot(tx, sql, options);
      return writeDumpFrom(sql, tx, snapshot, sink, options);
    });
  } catch (error) {
    // the snapshot and the writer describe their own failures; what is left is opening the transaction (connect, auth)
    if (error instanceof DumpError) throw error;
    if (options.signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled', { cause: error });
    throw describePgError(error, 'source', options.sourceName);
  }
}

/**
 * Writes the dump of a source snapshot (readSourceSnapshot, in `tx`, a transaction of `sql`) into `sink`: the header,
 * pre-data, every table's rows (over `jobs` connections in the same snapshot), large objects, sequences, post-data,
 * the objects of no schema, the trailer. The sink is not ended; the caller owns it.
 */
export async function writeDumpFrom(sql: postgres.Sql, tx: postgres.TransactionSql, snapshot: SourceSnapshot, sink: Writable, options: WriteDumpOptions): Promise<DumpStats> {
  const { signal } = options;
  const out = new BatchedSink(sink);
  const meter = new ProgressMeter(options.onProgress);
  let abortLanes: (() => void) | null = null;
  const onAbort = () => abortLanes?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(signal);
    const schema = snapshot.model;
    const renderOptions: RenderOptions = {
      owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData, ...(options.platform ? { platform: options.platform } : {}),
    };
    const rendered = renderSchema(schema, renderOptions);
    const bytesTotal = rendered.dataTables.reduce((sum, t) => sum + t.estimatedBytes, 0);
    meter.update({ tablesTotal: rendered.dataTables.length, bytesTotal, message: 'schema read' }, true);

    await out.write(
      [
        HEADER_MARK,
        `-- Tool: ${TOOL_NAME} ${TOOL_VERSION}`,
        `-- Source: ${options.sourceName.replace(/[\r\n]/g, ' ')}`,
        `-- Server version: ${snapshot.serverVersion}`,
        `-- Started: ${snapshot.startedAt}`,
        '',
        ...RESTORE_SETTINGS,
        '',
        '-- pre-data',
        ...rendered.preData,
        '',
        '-- data',
        '',
      ].join('\n'),
    );

    const lanes = Math.max(1, Math.min(options.jobs ?? 1, rendered.dataTables.length));
    const helpers = lanes > 1 ? await openHelperLanes(poolOpener(sql, options.openSource), tx, lanes - 1) : [];
    const copier = new DataCopier(out, meter, rendered.dataTables, { signal, split: lanes > 1, sourceName: options.sourceName, blockBytes: options.blockBytes ?? BLOCK_BYTES });
    abortLanes = () => copier.cancel();
    try {
      await copier.run([tx, ...helpers.map((h) => h.tx)]);
    } finally {
      abortLanes = null;
      for (const h of helpers) h.release();
      await Promise.allSettled(helpers.map((h) => h.done));
    }
    const tables = copier.tables;

    const largeObjects = { count: 0, bytes: 0 };
    if (includesLargeObjects(options)) {
      meter.update({ table: null, message: 'large objects' }, true);
      await out.write('-- large objects\n');
      const lo = { owners: options.owners, privileges: options.privileges, signal };
      for await (const statement of largeObjectStatements(tx, lo, largeObjects)) await out.write(`${statement}\n`);
    }
    await out.write('-- sequences\n');
    for (const line of await readSequenceValues(tx, rendered.sequences)) await out.write(line);
    await out.write(['', '-- post-data', ...rendered.postData, '', ...rendered.refreshMaterializedViews, ''].join('\n'));
    if (rendered.databaseWide.length > 0) await out.write(['', '-- objects of no schema', ...rendered.databaseWide, ''].join('\n'));
    if (options.dependents) {
      const dependents = await readDependents(tx, modelSchemas(schema));
      if (dependents.length > 0) await out.write(['', '-- objects outside the dumped schemas that depend on them', ...dependents.flatMap(renderDependent), ''].join('\n'));
    }
    const rows = tables.reduce((sum, t) => sum + t.rows, 0);
    const dataBytes = tables.reduce((sum, t) => sum + t.bytes, 0);
    await out.write(`\n${TRAILER_MARK}: tables=${tables.length} rows=${rows}\n`);
    await out.flush();
    meter.update({ table: null, message: 'done' }, true);
    return {
      serverVersion: snapshot.serverVersion,
      serverVersionNum: snapshot.serverVersionNum,
      startedAt: snapshot.startedAt,
      finishedAt: new Date().toISOString(),
      schema,
      tables,
      sequences: rendered.sequences.length,
      largeObjects: largeObjects.count,
      rows,
      dataBytes,
      bytesWritten: out.bytesWritten,
    };
  } catch (error) {
    if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled', { cause: error });
    throw describePgError(error, 'source', options.sourceName);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * setval lines for every dumped sequence, read in one query inside the snapshot. `schemaOf` names the schema the
 * lines set them in (the parallel import sets them in the schemas it builds under temporary names).
 */
export async function readSequenceValues(tx: postgres.TransactionSql, sequences: { schema: string; name: string }[], schemaOf: (schema: string) => string = (s) => s): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < sequences.length; i += 500) {
    const batch = sequences.slice(i, i + 500);
    const query = batch
      .map((s, j) => `SELECT ${j} AS i, last_value::text AS v, is_called AS c FROM ${qualify(s.schema, s.name)}`)
      .join(' UNION ALL ');
    const rows = await tx.unsafe<{ i: number; v: string; c: boolean }[]>(query);
    for (const row of rows.sort((a, b) => a.i - b.i)) {
      const seq = batch[row.i]!;
      lines.push(`SELECT pg_catalog.setval(${quoteLiteral(qualify(schemaOf(seq.schema), seq.name))}, ${row.v}, ${row.c});\n`);
    }
  }
  return lines;
}
