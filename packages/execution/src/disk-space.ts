import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type postgres from 'postgres';
import type { DumpSelection } from '@mbsync/dump';
import { JobsError } from '@mbsync/jobs';

/** Free and total space of the file system holding a directory. */
export interface DiskSpace {
  /** the directory asked about */
  directory: string;
  /** the nearest existing directory, the one actually measured (the asked one may not exist yet) */
  measured: string;
  /** bytes an unprivileged process may still write (statfs bavail) */
  freeBytes: number;
  totalBytes: number;
}

/** statfs of `directory`, or of its nearest existing parent when it does not exist yet (nothing is created). */
export async function diskSpace(directory: string): Promise<DiskSpace> {
  let dir = resolve(directory);
  for (;;) {
    try {
      const s = await statfs(dir);
      return { directory, measured: dir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(dir);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === dir) throw error;
      dir = parent;
    }
  }
}

/**
 * Dump bytes per byte of `pg_table_size` (heap + TOAST) of the dumped tables. Measured on mbsync_bench_1gb
 * (6.4 M rows, 751 MiB of tables): plain SQL 1.02, gzip level 3 0.46. The factors add headroom for rows
 * that PostgreSQL stores compressed in TOAST and COPY writes out in full.
 */
export const DUMP_SIZE_FACTOR: Readonly<{ plain: number; gzip: number }> = Object.freeze({ plain: 1.25, gzip: 0.6 });

export interface DumpSizeEstimate {
  /** sum of pg_table_size over the tables whose rows are dumped */
  tableBytes: number;
  /** the expected size of the dump file */
  dumpBytes: number;
}

/**
 * Estimates the size of a dump of `selection` from the source's table sizes (one catalog query, no table is
 * read). Partitioned parents hold no rows (their partitions are counted); materialized views are refreshed,
 * not dumped; temporary tables are never dumped.
 */
export async function estimateDumpSize(sql: postgres.Sql, selection: DumpSelection, gzip: boolean): Promise<DumpSizeEstimate> {
  const skipped = [...(selection.excludeTables ?? []), ...(selection.excludeTableData ?? [])];
  const [row] = await sql<{ bytes: string }[]>`
    SELECT coalesce(sum(pg_catalog.pg_table_size(c.oid)), 0)::bigint::text AS bytes
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relpersistence <> 't'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
      AND (${selection.schemas ?? null}::text[] IS NULL OR n.nspname = ANY(${selection.schemas ?? null}::text[]))
      AND NOT (n.nspname = ANY(${selection.excludeSchemas ?? []}::text[]))
      AND NOT (n.nspname || '.' || c.relname = ANY(${skipped}::text[]))`;
  const tableBytes = Number(row?.bytes ?? 0);
  return { tableBytes, dumpBytes: Math.ceil(tableBytes * (gzip ? DUMP_SIZE_FACTOR.gzip : DUMP_SIZE_FACTOR.plain)) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * Refuses (JOBS_INSUFFICIENT_DISK_SPACE, before anything is written) when the directory's disk cannot take
 * `neededBytes` and still keep `reserveBytes` free. The message names the directory and the sizes in MB.
 */
export async function assertDiskSpace(directory: string, neededBytes: number, reserveBytes: number, what: string): Promise<DiskSpace> {
  const space = await diskSpace(directory);
  if (space.freeBytes >= neededBytes + reserveBytes) return space;
  throw new JobsError(
    'JOBS_INSUFFICIENT_DISK_SPACE',
    `not enough disk space for ${what} in ${directory}: needs about ${mb(neededBytes)} plus ${mb(reserveBytes)} kept free (DISK_RESERVE_MB), ${mb(space.freeBytes)} free`,
    { details: { directory, neededBytes, reserveBytes, freeBytes: space.freeBytes } });
}
