import type { DumpSelection } from '@mbsync/dump';
import { UsageError } from './cli-context.js';

/** parseArgs options shared by the commands that read a source (export, sync): what is copied. */
export const SELECTION_OPTIONS = {
  schema: { type: 'string', multiple: true },
  'exclude-schema': { type: 'string', multiple: true },
  'exclude-table': { type: 'string', multiple: true },
  'exclude-table-data': { type: 'string', multiple: true },
  'no-owner': { type: 'boolean', default: false },
  'no-privileges': { type: 'boolean', default: false },
  'no-event-triggers': { type: 'boolean', default: false },
  'lock-wait-timeout': { type: 'string' },
} as const;

/** Their help lines. */
export const SELECTION_HELP = `  --schema <name>             copy only this schema (repeatable); default: every schema but PostgreSQL's own
  --exclude-schema <name>     leave this schema out (repeatable)
  --exclude-table <s.t>       leave this table out (repeatable)
  --exclude-table-data <s.t>  copy this table's structure but not its rows (repeatable)
  --no-owner                  leave owners out: everything is owned by the importing role (pg_dump's meaning)
  --no-privileges             leave GRANTs and default privileges out (pg_dump's meaning)
  --no-event-triggers         leave event triggers out (only a superuser can create them)
  --lock-wait-timeout <s>     how long to wait for the shared locks on the source's tables (default 30 s;
                              pg_dump's option): past it the copy fails with DUMP_LOCK_TIMEOUT, nothing written`;

export interface SelectionValues {
  schema?: string[];
  'exclude-schema'?: string[];
  'exclude-table'?: string[];
  'exclude-table-data'?: string[];
  'no-owner': boolean;
  'no-privileges': boolean;
  'no-event-triggers': boolean;
  'lock-wait-timeout'?: string;
}

/** The dump selection those options stand for. */
export function selectionSettings(values: SelectionValues): DumpSelection & { lockTimeoutMs: number | undefined } {
  return {
    lockTimeoutMs: lockWaitMs(values['lock-wait-timeout']),
    schemas: values.schema,
    excludeSchemas: values['exclude-schema'],
    excludeTables: values['exclude-table'],
    excludeTableData: values['exclude-table-data'],
    owners: !values['no-owner'],
    privileges: !values['no-privileges'],
    eventTriggers: !values['no-event-triggers'],
  };
}

/** --lock-wait-timeout in seconds (fractions allowed) as milliseconds, within what the job payloads accept. */
function lockWaitMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds >= 0.001 && seconds <= 3600)) {
    throw new UsageError(`--lock-wait-timeout must be a number of seconds from 0.001 to 3600, not "${value}"`);
  }
  return Math.round(seconds * 1000);
}
