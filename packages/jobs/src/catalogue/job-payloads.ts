import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { JobCatalogueError } from './job-failure.js';
import type { JobType } from './job-types.js';

/** An environment NAME as configured by `<NAME>_DATABASE_URL` (never a URL). */
const EnvironmentName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$', maxLength: 63, description: 'environment name, e.g. "local"' });
/** A file name inside DUMP_DIRECTORY: no directory part, so a payload cannot point anywhere else. */
const DumpFileName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*\\.sql(\\.gz)?$', maxLength: 200, description: 'file name in DUMP_DIRECTORY' });
const SqlName = Type.String({ minLength: 1, maxLength: 63 });
const QualifiedName = Type.String({ minLength: 3, maxLength: 127, pattern: '^[^.]+\\.[^.]+$', description: 'schema.table' });
const ImportMode = Type.Union([Type.Literal('replace'), Type.Literal('data-only')]);

/** What to dump (DumpSelection of @mbsync/dump). */
const selection = {
  schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })),
  excludeSchemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })),
  excludeTables: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000 })),
  excludeTableData: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000 })),
  owners: Type.Optional(Type.Boolean()),
  privileges: Type.Optional(Type.Boolean()),
  eventTriggers: Type.Optional(Type.Boolean()),
};

/** How a write is authorised and protected (see assertWritableTarget). */
const write = {
  /** the target's name typed again, needed for protected and non-loopback targets */
  confirm: Type.Optional(EnvironmentName),
  /** skip the backup of the target */
  noBackup: Type.Optional(Type.Boolean()),
  /** accept that a replace import drops target tables or columns holding rows (else JOBS_CONFIRMATION_REQUIRED) */
  acceptDataLoss: Type.Optional(Type.Boolean()),
  /** do not rebuild the target's Typesense collections after the import (done when the target has Typesense) */
  skipReindex: Type.Optional(Type.Boolean()),
  /** create the roles the copy needs that the target lacks (NOLOGIN, no password, no membership; not on protected targets) */
  createRoles: Type.Optional(Type.Boolean()),
};

/** A Typesense collection (alias) name of a spec: the built-in components, parts, attributes, or TYPESENSE_SPECS_FILE's. */
const CollectionName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,99}$' });

const closed = { additionalProperties: false } as const;

export const ExportPayload = Type.Object({ source: EnvironmentName, file: Type.Optional(DumpFileName), ...selection }, closed);
export const ImportPayload = Type.Object({ target: EnvironmentName, file: DumpFileName, mode: Type.Optional(ImportMode), schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })), ...write }, closed);
/** Connections per side of a streaming replace sync (1 = the whole import in one transaction). */
const SyncJobs = Type.Integer({ minimum: 1, maximum: 16 });
export const SyncPayload = Type.Object({ source: EnvironmentName, target: EnvironmentName, mode: Type.Optional(ImportMode), keepDump: Type.Optional(Type.Boolean()), jobs: Type.Optional(SyncJobs), ...write, ...selection }, closed);
export const BackupPayload = Type.Object({ target: EnvironmentName, schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })) }, closed);
export const RestorePayload = Type.Object(
  { backupId: Type.String({ pattern: '^[A-Za-z0-9_.-]+\\.sql\\.gz$', maxLength: 200 }), target: Type.Optional(EnvironmentName), ...write },
  closed,
);
export const ReindexPayload = Type.Object(
  { environment: EnvironmentName, collections: Type.Optional(Type.Array(CollectionName, { minItems: 1, maxItems: 100, uniqueItems: true })) },
  closed,
);

export type ExportPayload = Static<typeof ExportPayload>;
export type ImportPayload = Static<typeof ImportPayload>;
export type SyncPayload = Static<typeof SyncPayload>;
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
  throw new JobCatalogueError('JOBS_PAYLOAD_INVALID', `invalid ${type} payload: ${problems.join('; ')}`, { problems });
}
