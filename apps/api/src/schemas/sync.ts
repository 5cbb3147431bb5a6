import { Type, type Static } from 'typebox';
import { EnvironmentName } from './common.js';

const SqlName = Type.String({ minLength: 1, maxLength: 63 });
const QualifiedName = Type.String({ minLength: 3, maxLength: 127, pattern: '^[^.]+\\.[^.]+$', description: 'schema.table' });
const ImportMode = Type.Union([Type.Literal('replace'), Type.Literal('data-only')], { description: 'replace (default): rebuild the dumped schemas; data-only: load rows into the existing tables' });

/** A file name inside the server's dump directory: no directory part, so it cannot point anywhere else. */
export const DumpFileName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*\\.sql(\\.gz)?$',
  maxLength: 200,
  description: 'file name in the dump directory (see GET /api/dumps), no path',
});

const selection = {
  schemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000, description: 'only these schemas' })),
  excludeSchemas: Type.Optional(Type.Array(SqlName, { maxItems: 1000 })),
  excludeTables: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000 })),
  excludeTableData: Type.Optional(Type.Array(QualifiedName, { maxItems: 10000, description: 'dump these tables without their rows' })),
  owners: Type.Optional(Type.Boolean({ description: 'copy owners (ALTER … OWNER TO; default true). false: everything is owned by the importing role' })),
  privileges: Type.Optional(Type.Boolean({ description: 'copy privileges (GRANT, default privileges; default true)' })),
  eventTriggers: Type.Optional(Type.Boolean({ description: 'copy event triggers (default true; only a superuser can create them in the target)' })),
};

/** The target's name typed again (protected and non-loopback targets). */
export const Confirm = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$', maxLength: 63, description: "the target's name typed again: required for protected and non-loopback targets" });
/** Accepting that a replace import drops target tables or columns that hold rows. */
export const AcceptDataLoss = Type.Boolean({ description: 'accept that a replace import drops target tables or columns holding rows (else the job fails with JOBS_CONFIRMATION_REQUIRED; see GET /api/schema/diff)' });

/** Leaving the target's search index alone after a write. */
export const SkipReindex = Type.Boolean({
  description: "do not rebuild the target's Typesense collections after the import (done when the target has Typesense; rebuild later with POST /api/sync/reindex)",
});

const write = {
  confirm: Type.Optional(Confirm),
  noBackup: Type.Optional(Type.Boolean({ description: 'skip the backup of the target taken before the import' })),
  acceptDataLoss: Type.Optional(AcceptDataLoss),
  skipReindex: Type.Optional(SkipReindex),
  createRoles: Type.Optional(Type.Boolean({
    description: 'create the roles the copy needs that the target lacks: NOLOGIN, no password, no membership (refused for protected targets; else the job fails naming the roles)',
  })),
};

const closed = { additionalProperties: false } as const;

export const ExportBody = Type.Object({ from: EnvironmentName, file: Type.Optional(DumpFileName), ...selection }, closed);
export const ImportBody = Type.Object({ to: EnvironmentName, file: DumpFileName, mode: Type.Optional(ImportMode), schemas: selection.schemas, ...write }, closed);
const SyncJobs = Type.Integer({
  minimum: 1,
  maximum: 16,
  description: 'connections per side for a streaming replace (default SYNC_JOBS): above 1, tables load in parallel into a staging schema moved in by one short final transaction; 1 = one transaction throughout',
});
export const SyncBody = Type.Object({ from: EnvironmentName, to: EnvironmentName, mode: Type.Optional(ImportMode), keepDump: Type.Optional(Type.Boolean({ description: 'keep the dump file in the dump directory' })), jobs: Type.Optional(SyncJobs), ...write, ...selection }, closed);
export const ReindexBody = Type.Object(
  {
    to: EnvironmentName,
    collections: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,99}$' }), {
        minItems: 1,
        maxItems: 100,
        uniqueItems: true,
        description: 'collections to rebuild (default: every one of the specs: components, parts, attributes, or those of TYPESENSE_SPECS_FILE)',
      }),
    ),
    confirm: write.confirm,
  },
  closed,
);

export type ExportBody = Static<typeof ExportBody>;
export type ImportBody = Static<typeof ImportBody>;
export type SyncBody = Static<typeof SyncBody>;
export type ReindexBody = Static<typeof ReindexBody>;
