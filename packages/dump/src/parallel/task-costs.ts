/**
 * What a lane's task costs the target, for the scheduler (task-scheduler.ts: the heaviest remaining path first). The
 * unit is a byte of COPY: the time the target takes to load one byte of a table's rows. Weighing every task by bytes
 * alone got two common shapes wrong (docs/design.md, "The lanes' order"):
 * - a table of many narrow rows costs far more per byte to load, index and check than a table of a few large values:
 *   a bytea table's index was weighed as heavy as a 5-million-row table's, and the foreign key checks of the
 *   largest table ran last, on one lane, while the other had nothing left;
 * - a GIN or GiST index costs about ten times a btree's per row (a trigram or jsonb index is the longest step of
 *   the supabase and enum-wide shapes).
 * The factors were read off the server log of syncs of the bench shapes (`log_min_duration_statement = 0`): a COPY
 * costs its bytes and about 40 bytes per row; a btree build a scan of the heap (an eighth of a COPY per byte) and
 * about 64 per row; a foreign key check a scan of both tables and about 16 per row of each. Only their ratios matter.
 */

/** What the source's catalog says of a table: its size on disk (heap and TOAST), its heap alone, and its rows. */
export interface TableWeight {
  bytes: number;
  heapBytes: number;
  rows: number;
}

const COPY_ROW = 40;
const SCAN = 1 / 8;
const INDEX_ROW = 64;
const CHECK_ROW = 16;

/** Per row, against a btree's: the access method of an index definition (`… USING gin (…)`). */
const METHOD_FACTOR: Record<string, number> = { btree: 1, hash: 1, gin: 12, gist: 12, spgist: 6, brin: 0 };

/** A weight for a table the catalog knows nothing of: `bytes` on disk, rows of 128 bytes. */
export function weightOf(bytes: number, known?: TableWeight): TableWeight {
  return known ?? { bytes, heapBytes: bytes, rows: bytes / 128 };
}

/** Loading the table's rows (COPY FROM). */
export function copyCost(w: TableWeight): number {
  return w.bytes + COPY_ROW * w.rows;
}

/** Building an index or key from its definition (CREATE INDEX …, or a constraint's `PRIMARY KEY (…)`, `EXCLUDE USING …`). */
export function indexCost(w: TableWeight, definition: string): number {
  const method = /\bUSING (\w+)/i.exec(definition)?.[1]?.toLowerCase() ?? 'btree';
  return SCAN * w.heapBytes + INDEX_ROW * w.rows * (METHOD_FACTOR[method] ?? 1);
}

/** Checking a foreign key: the referencing table's rows against the referenced table's keys. */
export function foreignKeyCost(referencing: TableWeight, referenced: TableWeight): number {
  return SCAN * (referencing.heapBytes + referenced.heapBytes) + CHECK_ROW * (referencing.rows + referenced.rows);
}

/** Counting the table's rows (a scan of its heap). */
export function countCost(w: TableWeight): number {
  return SCAN * w.heapBytes;
}
