import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { JobCatalogueError } from './job-failure.js';
import type { JobType } from './job-types.js';

/** An environment NAME as configured by `<NAME>_DATABASE_URL` (never a URL). */
const EnvironmentName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$', maxLength: 63, description: 'environment name, e.g. "local"' });
/** A file name inside DUMP_DIRECTORY: no directory part, so a payload cannot point anywhere else. */
export const DumpFileName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*\\.sql(\\.gz)?$',
  maxLength: 200,
  description: 'file name in the dump directory (see GET /api/dumps), no path',
});
const SqlName = Type.String({ minLength: 1, maxLength: 63 });
const QualifiedName = Type.String({ minLength: 3, maxLength: 127, pattern: '^[^.]+\\.[^.]+$', description: 'schema.table' });
export const ImportMode = Type.Union([Type.Literal('replace'), Type.Literal('data-only')], {
  description: 'replace (default): rebuild the dumped schemas; data-only: load rows into the existing tables',
});

/*
 * The options of the jobs, each defined once with its description. The job payloads (below), the api's request
 * bodies (same fields, with environment names as `from`/`to`) and the runners' inputs are built from these: a new
 * option is added here, read by its runner, and given a flag by the CLI.
 */

/** What to dump (DumpSelection of @mbsync/dump). */
export const SelectionFields = {
  schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000, description: 'only these schemas' })),
  excludeSchemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })),
  excludeTables: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000 })),
  excludeTableData: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000, description: 'dump these tables without their rows' })),
  owners: Type.Optional(Type.Boolean({ description: 'copy owners (ALTER … OWNER TO; default true). false: everything is owned by the importing role' })),
  privileges: Type.Optional(Type.Boolean({ description: 'copy privileges (GRANT, default privileges; default true)' })),
  eventTriggers: Type.Optional(Type.Boolean({ description: 'copy event triggers (default true; only a superuser can create them in the target)' })),
  largeObjects: Type.Optional(Type.Boolean({ description: "copy large objects (default: when no schema list narrows the copy, as pg_dump's --large-objects)" })),
  lockTimeoutMs: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 3_600_000,
    description: "how long the export waits for its shared locks on the source's tables (default 30000 ms; pg_dump's --lock-wait-timeout): past it the job fails with DUMP_LOCK_TIMEOUT and nothing is written",
  })),
};

/** The target's name typed again (protected and non-loopback targets). */
export const Confirm = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$', maxLength: 63, description: "the target's name typed again: required for protected and non-loopback targets" });

/** How a write is authorised and protected (see assertWritableTarget). */
export const WriteFields = {
  confirm: Type.Optional(Confirm),
  noBackup: Type.Optional(Type.Boolean({ description: 'skip the backup of the target taken before the import' })),
  acceptDataLoss: Type.Optional(Type.Boolean({
    description: 'accept that a replace import drops target tables or columns holding rows (else the job fails with JOBS_CONFIRMATION_REQUIRED; see GET /api/schema/diff)',
  })),
  skipReindex: Type.Optional(Type.Boolean({
    description: "do not rebuild the target's Typesense collections after the import (done when the target has Typesense; rebuild later with POST /api/sync/reindex)",
  })),
  createRoles: Type.Optional(Type.Boolean({
    description: 'create the roles the copy needs that the target lacks: NOLOGIN, no password, no membership (refused for protected targets; else the job fails naming the roles)',
  })),
};

/** Connections per side of a streaming replace sync (1 = the whole import in one transaction). */
const SyncJobs = Type.Integer({
  minimum: 1,
  maximum: 16,
  description: 'connections per side for a streaming replace (default SYNC_JOBS): above 1, tables load in parallel into a staging schema moved in by one short final transaction; 1 = one transaction throughout',
});

export const ExportOptionFields = { file: Type.Optional(DumpFileName), ...SelectionFields };
export const ImportOptionFields = { file: DumpFileName, mode: Type.Optional(ImportMode), schemas: SelectionFields.schemas, ...WriteFields };
/** Every option of a sync: how it writes, what it copies, and how. */
export const SyncOptionFields = {
  mode: Type.Optional(ImportMode),
  keepDump: Type.Optional(Type.Boolean({ description: 'keep the dump file in the dump directory' })),
  jobs: Type.Optional(SyncJobs),
  full: Type.Optional(Type.Boolean({
    description: 'copy everything even when the target holds an earlier copy from this source (by default such a replace compares per-table checksums and copies only the differing key ranges)',
  })),
  ...WriteFields,
  ...SelectionFields,
};

/** A Typesense collection (alias) name of a spec: the built-in components, parts, attributes, or TYPESENSE_SPECS_FILE's. */
const CollectionName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,99}$' });

const closed = { additionalProperties: false } as const;

export const ExportPayload = Type.Object({ source: EnvironmentName, ...ExportOptionFields }, closed);
export const ImportPayload = Type.Object({ target: EnvironmentName, ...ImportOptionFields }, closed);
export const SyncPayload = Type.Object({ source: EnvironmentName, target: EnvironmentName, ...SyncOptionFields }, closed);
export const BackupPayload = Type.Object({ target: EnvironmentName, schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })) }, closed);
export const RestorePayload = Type.Object(
  { backupId: Type.String({ pattern: '^[A-Za-z0-9_.-]+\\.sql\\.gz$', maxLength: 200 }), target: Type.Optional(EnvironmentName), ...WriteFields },
  closed,
);
export const ReindexPayload = Type.Object(
  { environment: EnvironmentName, collections: Type.Optional(Type.Array(CollectionName, { minItems: 1, maxItems: 100, uniqueItems: true })) },
  closed,
);

export type ExportPayload = Static<typeof ExportPayload>;
export type ImportPayload = Static<typeof ImportPayload>;
export type SyncPayload = Static<typeof SyncPayload>;
/** A sync as the api, the CLI and the worker ask for it: the two environments' names and the options. */
export type SyncRequest = SyncPayload;
/** The options of a sync (what a runner reads besides the two environments). */
export type SyncOptions = Omit<SyncRequest, 'source' | 'target'>;

/** The request for a sync from two environment names and the options given (unset options left out: payloads are exact). */
export function syncRequest(source: string, target: string, options: SyncOptions): SyncRequest {
  return { source, target, ...definedFields(options) };
}

/** Drops undefined fields (the payload schemas are closed and exact). */
export function definedFields<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
export type BackupPayload = Static<typeof BackupPayload>;
export type RestorePayload = Static<typeof RestorePayload>;
export type ReindexPayload = Static<typeof ReindexPayload>;

/** The payload schema of every job type (job.data). Payloads hold environment names and options, never URLs. */
export const JobPayloadSchemas = {
  export: ExportPayload,
  import: ImportPayload,
  sync: SyncPayload,
  backup: BackupPayload,
  restore: RestorePayload,
  reindex: ReindexPayload,
} as const satisfies Record<JobType, TSchema>;

export interface JobPayloads {
  export: ExportPayload;
  import: ImportPayload;
  sync: SyncPayload;
  backup: BackupPayload;
  restore: RestorePayload;
  reindex: ReindexPayload;
}

/** Checks a payload against its type's schema; every problem is reported at once (JOBS_PAYLOAD_INVALID). */
export function parsePayload<T extends JobType>(type: T, data: unknown): JobPayloads[T] {
  const schema: TSchema = JobPayloadSchemas[type];
  if (Value.Check(schema, data)) return data as JobPayloads[T];
  const problems = Value.Errors(schema, data).map((e) => `${e.instancePath || '/'} ${e.message}`);
  throw new JobCatalogueError('JOBS_PAYLOAD_INVALID', `invalid ${type} payload: ${problems.join('; ')}`, { details: { problems } });
}
