import { Confirm, DumpFileName, ExportOptionFields, ImportOptionFields, SyncOptionFields, WriteFields } from '@mbsync/jobs';
import { Type, type Static } from 'typebox';
import { EnvironmentName } from './common.js';

// The request bodies are the job payloads' own fields (defined once, with their descriptions, in @mbsync/jobs),
// with environment names as `from`/`to`: a new job option reaches the api and its OpenAPI document by itself.
export { Confirm, DumpFileName };

const closed = { additionalProperties: false } as const;

export const ExportBody = Type.Object({ from: EnvironmentName, ...ExportOptionFields }, closed);
export const ImportBody = Type.Object({ to: EnvironmentName, ...ImportOptionFields }, closed);
export const SyncBody = Type.Object({ from: EnvironmentName, to: EnvironmentName, ...SyncOptionFields }, closed);
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
    confirm: WriteFields.confirm,
  },
  closed,
);

export type ExportBody = Static<typeof ExportBody>;
export type ImportBody = Static<typeof ImportBody>;
export type SyncBody = Static<typeof SyncBody>;
export type ReindexBody = Static<typeof ReindexBody>;
