import { Type, type Static } from 'typebox';

/** Every result carries when and where its (successful) attempt ran. */
const run = {
  /** job.attemptsMade + 1 of the attempt that completed */
  attempt: Type.Integer({ minimum: 1 }),
  /** ISO times of that attempt */
  startedAt: Type.String(),
  finishedAt: Type.String(),
  /** `<hostname>:<pid>` of the worker process */
  worker: Type.String(),
};

const ImportSummary = Type.Object({
  mode: Type.Union([Type.Literal('replace'), Type.Literal('data-only')]),
  tables: Type.Integer(),
  rows: Type.Integer(),
  bytesRead: Type.Number(),
  durationMs: Type.Number(),
  /** id of the backup taken before the import, null with noBackup */
  backupId: Type.Union([Type.String(), Type.Null()]),
  /** row counts checked against the manifest (false: the dump had no manifest) */
  verified: Type.Boolean(),
});

/** The reindex that follows a committed write (null: the target has no Typesense, or skipReindex). */
const ReindexSummary = Type.Union([
  Type.Object({
    /** failed and cancelled never fail the write: its data is in (see `warnings`) */
    status: Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')]),
    /** collections rebuilt (completed) */
    collections: Type.Array(Type.String()),
    documents: Type.Integer(),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    /** per collection: updated by id in place (after an incremental sync) or rebuilt behind its alias */
    byCollection: Type.Optional(Type.Array(Type.Object({
      name: Type.String(),
      mode: Type.Union([Type.Literal('updated'), Type.Literal('rebuilt')]),
      upserted: Type.Integer(),
      deleted: Type.Integer(),
      documents: Type.Integer(),
      reason: Type.Optional(Type.String()),
    }))),
    /** the `reindex` job queued to try again on its own (failed, or stopped by a worker shutdown); null if none */
    followUpJobId: Type.Union([Type.String(), Type.Null()]),
  }),
  Type.Null(),
]);

/** What every job writing to a target reports besides its own figures. */
const write = {
  /** the import committed: the target holds the new data (always true for a completed write) */
  targetWritten: Type.Boolean(),
  reindex: ReindexSummary,
  /** the loopback target's database was missing and was created (its name), else null */
  createdDatabase: Type.Union([Type.String(), Type.Null()]),
  /** things the operator should know: a search index left stale… */
  warnings: Type.Array(Type.String()),
  /** this attempt found the import already committed by an earlier one and did not copy again */
  resumed: Type.Optional(Type.Boolean()),
};

export const ExportJobOutputSchema = Type.Object({
  type: Type.Literal('export'),
  /** file name in DUMP_DIRECTORY (usable as an import job's `file`) */
  file: Type.String(),
  tables: Type.Integer(),
  rows: Type.Integer(),
  fileBytes: Type.Number(),
  sha256: Type.String(),
  ...run,
});

export const ImportJobOutputSchema = Type.Object({ type: Type.Literal('import'), target: Type.String(), file: Type.String(), import: ImportSummary, ...write, ...run });

/** Whether a sync copied everything or only what differed, and what it moved. */
export const IncrementalSummary = Type.Object({
  mode: Type.Union([Type.Literal('incremental'), Type.Literal('full')]),
  /** why the copy was full */
  reason: Type.Optional(Type.String()),
  tables: Type.Object({
    /** compared by checksums (incremental) */
    compared: Type.Array(Type.String()),
    /** equal on both sides, not written */
    skipped: Type.Array(Type.String()),
    /** differing rows replaced by key (`buckets`: key buckets whose checksums differed) */
    patched: Type.Array(Type.Object({ table: Type.String(), buckets: Type.Integer(), rowsDeleted: Type.Integer(), rowsInserted: Type.Integer() })),
    /** copied whole (every table of a full copy) */
    copied: Type.Array(Type.String()),
    /** of `compared`, those decided by the change horizon: only the source's rows written since the last copy were read */
    tracked: Type.Optional(Type.Array(Type.String())),
  }),
  /** COPY bytes read from the source */
  bytesFromSource: Type.Number(),
});

export const SyncJobOutputSchema = Type.Object({
  type: Type.Literal('sync'),
  source: Type.String(),
  target: Type.String(),
  export: Type.Object({ tables: Type.Integer(), rows: Type.Integer(), dataBytes: Type.Number(), durationMs: Type.Number() }),
  import: ImportSummary,
  /** file name in DUMP_DIRECTORY when keepDump was set */
  dumpFile: Type.Union([Type.String(), Type.Null()]),
  /** incremental or full, and what moved (absent from a result recorded by the worker's commit recorder) */
  incremental: Type.Optional(IncrementalSummary),
  /**
   * a full copy over several connections: the COPY format asked (SYNC_COPY_FORMAT, or what auto chose by the source's
   * round trip in ms, null when the setting named the format) and the tables that went packed
   */
  copyFormat: Type.Optional(Type.Object({
    chosen: Type.Union([Type.Literal('packed'), Type.Literal('smaller'), Type.Literal('binary')]),
    roundTripMs: Type.Union([Type.Number(), Type.Null()]),
    packedTables: Type.Integer(),
  })),
  ...write,
  ...run,
});

export const BackupJobOutputSchema = Type.Object({
  type: Type.Literal('backup'),
  target: Type.String(),
  backupId: Type.String(),
  schemas: Type.Array(Type.String()),
  tables: Type.Integer(),
  rows: Type.Integer(),
  fileBytes: Type.Number(),
  ...run,
});

export const RestoreJobOutputSchema = Type.Object({ type: Type.Literal('restore'), target: Type.String(), restoredBackupId: Type.String(), import: ImportSummary, ...write, ...run });

/** A reindex job: the collections rebuilt behind their aliases (moved together). */
export const ReindexJobOutputSchema = Type.Object({ type: Type.Literal('reindex'), environment: Type.String(), collections: Type.Array(Type.String()), documents: Type.Integer(), ...run });

export type ExportJobOutput = Static<typeof ExportJobOutputSchema>;
export type ImportJobSummary = Static<typeof ImportSummary>;
export type IncrementalSyncSummary = Static<typeof IncrementalSummary>;
export type ReindexJobSummary = Static<typeof ReindexSummary>;
export type ImportJobOutput = Static<typeof ImportJobOutputSchema>;
export type SyncJobOutput = Static<typeof SyncJobOutputSchema>;
export type BackupJobOutput = Static<typeof BackupJobOutputSchema>;
export type RestoreJobOutput = Static<typeof RestoreJobOutputSchema>;
export type ReindexJobOutput = Static<typeof ReindexJobOutputSchema>;

/** The result schema (job.returnvalue) of every job type. */
export const JobOutputSchemas = {
  export: ExportJobOutputSchema,
  import: ImportJobOutputSchema,
  sync: SyncJobOutputSchema,
  backup: BackupJobOutputSchema,
  restore: RestoreJobOutputSchema,
  reindex: ReindexJobOutputSchema,
} as const;

export interface JobOutputs {
  export: ExportJobOutput;
  import: ImportJobOutput;
  sync: SyncJobOutput;
  backup: BackupJobOutput;
  restore: RestoreJobOutput;
  reindex: ReindexJobOutput;
}

/** The fields every result carries; the catalogue's adapters return the rest. */
export type JobRunInfo = Pick<ExportJobOutput, 'attempt' | 'startedAt' | 'finishedAt' | 'worker'>;
