import { parseArgs } from 'node:util';
import { runReindex } from '@mbsync/execution';
import { commandConfig, resolveDatabase, UsageError, type CliContext } from '../cli-context.js';
import { createProgressOutput } from '../progress-bar.js';

export const reindexHelp = `Usage: pnpm mbsync reindex --from <environment> [options]

Rebuilds the Typesense collections (components, parts, attributes) of an environment from its database
with zero downtime: each goes into a new <name>_<timestamp> collection, every import result is checked and
the document count compared with the row count, then the alias <name> is repointed atomically and the old
collection dropped. On any failure the alias keeps serving the old collection.
Typesense comes from <NAME>_TYPESENSE_URL and <NAME>_TYPESENSE_API_KEY.

Options:
  --from <name>             environment (e.g. local, from LOCAL_DATABASE_URL + LOCAL_TYPESENSE_URL)
  --collections <a,b>       rebuild only these collections (default: all of the specs)
  --specs <file.json>       collection specs replacing the defaults: { "collections": [ … ] } (default:
                            TYPESENSE_SPECS_FILE when set, see README)
  --batch-size <n>          documents per import request (default 1000)
  --max-failures <n>        failed documents tolerated per collection (default 0: any failure aborts)
  --json                    print progress and the result as JSON lines on stdout
  -h, --help                show this help

Progress: the bar's byte figures count documents of the current collection.`;

export async function reindexCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      collections: { type: 'string' },
      specs: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-failures': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.from) throw new UsageError('reindex needs --from <environment>');
  const environment = resolveDatabase(context, values.from);
  const collections = values.collections
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (collections !== undefined && collections.length === 0) throw new UsageError('--collections needs at least one collection name');
  const batchSize = count(values['batch-size'], '--batch-size', 1);
  const maxFailures = count(values['max-failures'], '--max-failures', 0);
  const config = commandConfig(context);
  const output = createProgressOutput(values.json, context.onActivity);
  try {
    const result = await runReindex({
      environment,
      ...(config.searchSpecs ? { specs: config.searchSpecs } : {}),
      retry: { maxElapsedMs: config.typesenseRetryMs },
      ...(collections === undefined ? {} : { collections }),
      ...(values.specs === undefined ? {} : { specsFile: values.specs }),
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(maxFailures === undefined ? {} : { maxFailures }),
      signal: context.signal,
      scope: context.scope,
      onProgress: (p) => output.update('reindex', p),
    });
    for (const c of result.collections) {
      output.done('reindex', {
        collection: c.name,
        target: c.collection,
        documents: c.documents,
        failed: c.failedCount,
        previous: c.previous.join(',') || '-',
        ...(c.migrated ? { migrated: true } : {}),
        ...(c.leftoversDropped.length > 0 ? { leftoversDropped: c.leftoversDropped.join(',') } : {}),
        retries: c.retries,
        seconds: Number(c.seconds.toFixed(2)),
      });
      for (const f of c.failures) process.stderr.write(`  failed document ${f.id ?? '(no id)'}: ${f.error}\n`);
    }
  } catch (error) {
    output.clear();
    printDetails(error);
    throw error;
  } finally {
    output.clear();
  }
}

/** The lines main.ts leaves out (it prints the first line of the message): every spec problem, every failed document. */
function printDetails(error: unknown): void {
  const details = (error as { details?: { problems?: unknown; failures?: unknown } }).details;
  if (Array.isArray(details?.problems)) {
    for (const problem of details.problems) process.stderr.write(`  ${String(problem)}\n`);
  }
  if (Array.isArray(details?.failures)) {
    for (const f of details.failures as { id?: string | null; error?: string }[]) process.stderr.write(`  failed document ${f.id ?? '(no id)'}: ${f.error ?? ''}\n`);
  }
}

function count(value: string | undefined, option: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${option} must be an integer >= ${min}, not "${value}"`);
  return n;
}
