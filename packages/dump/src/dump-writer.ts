import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import { introspect, selectSchemas, type IntrospectOptions, type SchemaModel } from '@mbsync/schema-diff';
import { qualify, quoteIdent, renderSchema, type RenderOptions } from './ddl.js';
import { EXPORT_SESSION_SETTINGS, HEADER_MARK, RESTORE_SETTINGS, TOOL_NAME, TOOL_VERSION, TRAILER_MARK } from './dump-format.js';
import { DumpError, throwIfAborted } from './errors.js';
import { describePgError } from './pg-errors.js';
import { ProgressMeter, type ProgressCallback } from './progress.js';
import { quoteLiteral } from './sql-literal.js';

/** What to dump and how. Names, never URLs: `sourceName` goes into the file header. */
export interface DumpSelection {
  schemas?: string[];
  excludeSchemas?: string[];
  /** 'schema.table' */
  excludeTables?: string[];
  /** 'schema.table': structure dumped, rows not */
  excludeTableData?: string[];
  owners?: boolean;
  privileges?: boolean;
}

export interface WriteDumpOptions extends DumpSelection {
  sourceName: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** How long to wait for ACCESS SHARE locks on the dumped tables (default 30 s). */
  lockTimeoutMs?: number;
  /** Called with the schema model read inside the snapshot, before anything is written to the sink. */
  onSchema?: (schema: SchemaModel) => Promise<void> | void;
}

export interface TableStats {
  schema: string;
  name: string;
  rows: number;
  /** bytes of COPY text */
  bytes: number;
}

export interface DumpStats {
  serverVersion: string;
  serverVersionNum: number;
  startedAt: string;
  finishedAt: string;
  schema: SchemaModel;
  tables: TableStats[];
  sequences: number;
  rows: number;
  dataBytes: number;
  /** bytes written to the sink, before any compression */
  bytesWritten: number;
}

const FLUSH_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Collects small buffers (postgres.js hands over one COPY row per chunk) and writes them to the sink in
 * ~1 MiB pieces, waiting for 'drain' so memory stays bounded end to end.
 */
class BatchedSink {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  bytesWritten = 0;
  constructor(private readonly sink: Writable) {}

  async write(chunk: Buffer | string): Promise<void> {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.#pending.push(buf);
    this.#pendingBytes += buf.length;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.bytesWritten += buf.length;
    if (this.sink.destroyed) throw new DumpError('DUMP_OUTPUT_NOT_WRITABLE', 'the output stream was closed');
    if (!this.sink.write(buf)) await waitForDrain(this.sink);
  }
}

/** Resolves on 'drain'; rejects when the sink errors or closes first, so a dead output never hangs us. */
function waitForDrain(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new DumpError('DUMP_OUTPUT_NOT_WRITABLE', 'the output stream was closed'));
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(NEWLINE);
  while (i !== -1) {
    n++;
    i = buf.indexOf(NEWLINE, i + 1);
  }
  return n;
}


/**
 * Writes a complete plain-SQL dump of the database behind `sql` into `sink` from one
 * REPEATABLE READ READ ONLY snapshot. Row data is the server's own COPY text, passed through untouched.
 * The sink is not ended; the caller owns it.
 */
export async function writeDump(sql: postgres.Sql, sink: Writable, options: WriteDumpOptions): Promise<DumpStats> {
  const { signal } = options;
  throwIfAborted(signal);
  const startedAt = new Date().toISOString();
  const out = new BatchedSink(sink);
  const meter = new ProgressMeter(options.onProgress);
  let current: { cancel(): void } | null = null;
  const onAbort = () => current?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await sql.begin('isolation level repeatable read read only', async (tx) => {
      await tx.unsafe(`SELECT ${EXPORT_SESSION_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(v)}, true)`).join(', ')}`);
      const [version] = await tx<{ version: string; num: string }[]>`SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num`;
      throwIfAborted(signal);
      const selection = { schemas: options.schemas, excludeSchemas: options.excludeSchemas, excludeTables: options.excludeTables };
      // Lock first, then read the catalog (pg_dump's order): nothing can change a table's definition between
      // the two, and a wait for a lock held elsewhere is one cancellable statement.
      await lockTables(tx, await listTables(tx, selection), options.lockTimeoutMs ?? 30_000, (q) => (current = q));
      current = null;
      throwIfAborted(signal);
      const schema = await introspect(tx, selection);
      const renderOptions: RenderOptions = { owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData };
      const rendered = renderSchema(schema, renderOptions);
      await options.onSchema?.(schema);
      throwIfAborted(signal);

      const bytesTotal = rendered.dataTables.reduce((sum, t) => sum + t.estimatedBytes, 0);
      meter.update({ tablesTotal: rendered.dataTables.length, bytesTotal, message: 'schema read' }, true);

      await out.write(
        [
          HEADER_MARK,
          `-- Tool: ${TOOL_NAME} ${TOOL_VERSION}`,
          `-- Source: ${options.sourceName.replace(/[\r\n]/g, ' ')}`,
          `-- Server version: ${version!.version}`,
          `-- Started: ${startedAt}`,
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

      const tables: TableStats[] = [];
      let estimatedDone = 0;
      for (const table of rendered.dataTables) {
        throwIfAborted(signal);
        const name = qualify(table.schema, table.name);
        const columns = table.columns.map(quoteIdent).join(', ');
        const stats: TableStats = { schema: table.schema, name: table.name, rows: 0, bytes: 0 };
        const rowsBefore = meter.state.rowsDone;
        meter.update({ table: `${table.schema}.${table.name}` }, true);
        // A table whose only columns are generated (or none at all) still holds rows: COPY it without a list.
        const list = columns ? ` (${columns})` : '';
        await out.write(`COPY ${name}${list} FROM stdin;\n`);
        const query = tx.unsafe(`COPY ${name}${list} TO STDOUT`);
        current = query;
        // resolves with the stream once the server is in COPY mode; a server error destroys the stream
        const stream = await query.readable();
        let chunks = 0;
        let lastLook = 0;
        let cancelling = false;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (signal?.aborted) {
            // cancel server-side and keep draining: a paused, half-read COPY would block the rollback
            if (!cancelling) query.cancel();
            cancelling = true;
            continue;
          }
          stats.rows += countNewlines(chunk);
          stats.bytes += chunk.length;
          await out.write(chunk);
          // Progress is looked at every 1024 chunks (rows) or 1 MiB, not per row.
          if ((++chunks & 1023) === 0 || stats.bytes - lastLook >= 1 << 20) {
            lastLook = stats.bytes;
            meter.update({ bytesDone: estimatedDone + Math.min(stats.bytes, table.estimatedBytes), rowsDone: rowsBefore + stats.rows });
          }
        }
        throwIfAborted(signal);
        current = null;
        await out.write('\\.\n\n');
        estimatedDone += table.estimatedBytes;
        tables.push(stats);
        meter.update({ tablesDone: tables.length, rowsDone: rowsBefore + stats.rows, bytesDone: estimatedDone, table: null }, true);
      }

      await out.write('-- sequences\n');
      for (const line of await readSequenceValues(tx, rendered.sequences)) await out.write(line);
      await out.write(['', '-- post-data', ...rendered.postData, '', ...rendered.refreshMaterializedViews, ''].join('\n'));
      const rows = tables.reduce((sum, t) => sum + t.rows, 0);
      const dataBytes = tables.reduce((sum, t) => sum + t.bytes, 0);
      await out.write(`\n${TRAILER_MARK}: tables=${tables.length} rows=${rows}\n`);
      await out.flush();
      meter.update({ table: null, message: 'done' }, true);
      return {
        serverVersion: version!.version,
        serverVersionNum: Number(version!.num),
        startedAt,
        finishedAt: new Date().toISOString(),
        schema,
        tables,
        sequences: rendered.sequences.length,
        rows,
        dataBytes,
        bytesWritten: out.bytesWritten,
      };
    });
  } catch (error) {
    if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled', { cause: error });
    throw describePgError(error, 'source', options.sourceName);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Qualified names of the tables a selection covers (extension members left out; LOCK refuses matviews). */
export async function listTables(tx: postgres.TransactionSql, selection: IntrospectOptions): Promise<string[]> {
  const schemas = await selectSchemas(tx, selection);
  if (schemas.length === 0) return [];
  const excluded = new Set(selection.excludeTables ?? []);
  const rows = await tx.unsafe<{ schema: string; name: string }[]>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname IN (${schemas.map(quoteLiteral).join(', ')})
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`);
  return rows.filter((r) => !excluded.has(`${r.schema}.${r.name}`)).map((r) => qualify(r.schema, r.name));
}

export async function lockTables(tx: postgres.TransactionSql, names: string[], timeoutMs: number, setCurrent: (q: { cancel(): void }) => void): Promise<void> {
  if (names.length === 0) return;
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', ${quoteLiteral(String(timeoutMs))}, true)`);
  // A few statements for all tables; LOCK on a partitioned table also locks its partitions.
  for (let i = 0; i < names.length; i += 1000) {
    // cancellable: waiting for a lock held elsewhere can take up to the timeout
    const query = tx.unsafe(`LOCK TABLE ${names.slice(i, i + 1000).join(', ')} IN ACCESS SHARE MODE`);
    setCurrent(query);
    await query;
  }
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '0', true)`);
}

/** setval lines for every dumped sequence, read in one query inside the snapshot. */
export async function readSequenceValues(tx: postgres.TransactionSql, sequences: { schema: string; name: string }[]): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < sequences.length; i += 500) {
    const batch = sequences.slice(i, i + 500);
    const query = batch
      .map((s, j) => `SELECT ${j} AS i, last_value::text AS v, is_called AS c FROM ${qualify(s.schema, s.name)}`)
      .join(' UNION ALL ');
    const rows = await tx.unsafe<{ i: number; v: string; c: boolean }[]>(query);
    for (const row of rows.sort((a, b) => a.i - b.i)) {
      const seq = batch[row.i]!;
      lines.push(`SELECT pg_catalog.setval(${quoteLiteral(qualify(seq.schema, seq.name))}, ${row.v}, ${row.c});\n`);
    }
  }
  return lines;
}
