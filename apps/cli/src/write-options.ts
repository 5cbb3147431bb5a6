import type { ImportMode } from '@mbsync/dump';
import type { SchemaCheckOptions } from '@mbsync/execution';
import { UsageError } from './cli-context.js';

/** parseArgs options shared by the commands that write to a target (import, sync). */
export const WRITE_OPTIONS = {
  mode: { type: 'string', default: 'replace' },
  confirm: { type: 'string' },
  'no-backup': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  'create-roles': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

export interface WriteValues {
  mode: string;
  confirm?: string;
  'no-backup': boolean;
  yes: boolean;
  'create-roles': boolean;
  json: boolean;
}

/** The runner settings those options stand for; the schema report is printed when it blocks the import. */
export function writeSettings(values: WriteValues): {
  mode: ImportMode;
  confirm: string | undefined;
  noBackup: boolean;
  acceptDataLoss: boolean;
  createRoles: boolean;
  onReport: NonNullable<SchemaCheckOptions['onReport']>;
} {
  if (values.mode !== 'replace' && values.mode !== 'data-only') throw new UsageError(`--mode must be replace or data-only, not "${values.mode}"`);
  const mode: ImportMode = values.mode;
  return {
    mode,
    confirm: values.confirm,
    noBackup: values['no-backup'],
    acceptDataLoss: values.yes,
    createRoles: values['create-roles'],
    onReport: (report, verdict) => {
      if (!values.json && (!verdict[mode].allowed || (verdict[mode].needsConfirmation && !values.yes))) process.stderr.write(report + '\n');
    },
  };
}
