import { Type } from 'typebox';
import { EnvironmentName } from './common.js';
import { WriteFields } from '@mbsync/jobs';
import { DumpFileName } from './sync.js';

export const DumpInfo = Type.Object({
  name: Type.String(),
  bytes: Type.Number(),
  modifiedAt: Type.String({ format: 'date-time' }),
  manifest: Type.Union([
    Type.Object({
      source: Type.String({ description: 'environment name of the source' }),
      serverVersion: Type.String(),
      startedAt: Type.String(),
      finishedAt: Type.String(),
      tables: Type.Integer(),
      rows: Type.Integer(),
      sha256: Type.String(),
    }),
    Type.Null(),
  ], { description: 'null: the dump has no readable manifest (e.g. pg_dump output)' }),
});

export const DumpList = Type.Object({ dumps: Type.Array(DumpInfo) });
export const DumpParams = Type.Object({ name: DumpFileName });

export const BackupInfo = Type.Object({
  id: Type.String({ description: 'the backup file name, used to restore it' }),
  target: Type.String({ description: 'environment the backup was taken of' }),
  schemas: Type.Array(Type.String()),
  createdAt: Type.String(),
  fileBytes: Type.Number(),
  tables: Type.Integer(),
  rows: Type.Integer(),
});
export const BackupList = Type.Object({ backups: Type.Array(BackupInfo) });
/** The names @mbsync/dump gives backups: `<target>-<UTC time>.sql.gz`. */
export const BackupParams = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9_.-]+-\\d{8}T\\d{9}Z\\.sql\\.gz$', maxLength: 200, description: 'backup id (file name), e.g. local-20240101T120000000Z.sql.gz' }),
});
export const RestoreBody = Type.Object(
  {
    to: Type.Optional(EnvironmentName),
    confirm: WriteFields.confirm,
    noBackup: Type.Optional(Type.Boolean({ description: 'skip backing up the target before restoring' })),
    acceptDataLoss: WriteFields.acceptDataLoss,
    skipReindex: WriteFields.skipReindex,
  },
  { additionalProperties: false, description: '`to` defaults to the environment the backup was taken of' },
);
