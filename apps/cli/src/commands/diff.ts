import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MANIFEST_SUFFIX } from '@mbsync/dump';
import { compareSchemas, type SchemaSide } from '@mbsync/execution';
import { isDatabaseUrl } from '@mbsync/jobs';
import type { IntrospectOptions } from '@mbsync/schema-diff';
import { renderReport } from '@mbsync/schema-diff';
import { resolveDatabase, UsageError, type CliContext } from '../cli-context.js';

export const diffHelp = `Usage: pnpm mbsync diff --from <environment|postgres-url|dump-file> --to <environment|postgres-url|dump-file> [options]

Compares two schemas — typically a dump, whose manifest holds its schema, against the database it would be
imported into — and says what each import mode would do to the target:
  replace     drops and recreates the dumped schemas: lists what the target would lose, and asks for
              confirmation when a table or column that only the target has holds rows
  data-only   truncates and reloads the dumped tables: refused when the target cannot take the data
              (missing tables or columns, narrower types, NOT NULL columns the dump cannot fill, enum labels…)
Databases are read inside one REPEATABLE READ READ ONLY transaction; nothing is written.

Options:
  --from <name|url|file>   the source: an environment (e.g. staging), a postgres:// URL or a dump file
  --to <name|url|file>     the target, likewise (row counts are read when it is a database)
  --schema <name>          read only this schema of the databases (repeatable)
  --exclude-schema <name>  leave this schema of the databases out (repeatable)
  --exclude-table <s.t>    leave this table of the databases out (repeatable)
  --ownership              also compare owners and privileges
  --json                   print one JSON object { changes, verdict } instead of the report
  --color, --no-color      colour the report (default: when stdout is a terminal and NO_COLOR is unset)
  --exit-code              exit with 1 when the schemas differ (default: 0 either way)
  -h, --help               show this help`;

/** Thrown (after the output is written) by `--exit-code` when there are differences: main.ts reports it and exits 1. */
export class SchemaDifferencesFound extends Error {
  override name = 'SchemaDifferencesFound';
  readonly exitCode = 1;
}

function looksLikeFile(value: string): boolean {
  return value.includes('/') || value.includes('\\') || /\.(sql|gz|json)$/i.test(value);
}

/** --from/--to: a dump file (or its manifest), else a database (an environment name or a postgres:// URL). */
function sideOf(context: CliContext, value: string): SchemaSide {
  if (isDatabaseUrl(value)) return { kind: 'database', environment: resolveDatabase(context, value) };
  if (existsSync(value) || existsSync(`${value}${MANIFEST_SUFFIX}`)) return { kind: 'dump', file: value };
  if (looksLikeFile(value)) throw new UsageError(`no such dump file: ${value}`);
  return { kind: 'database', environment: resolveDatabase(context, value) };
}

export async function diffCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      schema: { type: 'string', multiple: true },
      'exclude-schema': { type: 'string', multiple: true },
      'exclude-table': { type: 'string', multiple: true },
      ownership: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      'exit-code': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.from) throw new UsageError('diff needs --from <environment|postgres-url|dump-file>');
  if (!values.to) throw new UsageError('diff needs --to <environment|postgres-url|dump-file>');
  const options: IntrospectOptions = {
    ...(values.schema ? { schemas: values.schema } : {}),
    ...(values['exclude-schema'] ? { excludeSchemas: values['exclude-schema'] } : {}),
    ...(values['exclude-table'] ? { excludeTables: values['exclude-table'] } : {}),
  };
  const result = await compareSchemas(sideOf(context, values.from), sideOf(context, values.to), {
    selection: options, ownership: values.ownership, signal: context.signal, scope: context.scope,
  });

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ changes: result.changes, verdict: result.verdict })}\n`);
  } else {
    const color = values['no-color'] ? false : values.color ?? (process.stdout.isTTY === true && !context.settings.noColor);
    process.stdout.write(renderReport(result.changes, result.verdict, { color }));
  }
  if (values['exit-code'] && result.changes.length > 0) {
    throw new SchemaDifferencesFound(`the schemas differ (${result.changes.length} change${result.changes.length === 1 ? '' : 's'})`);
  }
}
