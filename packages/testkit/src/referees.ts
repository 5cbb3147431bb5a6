import { spawnSync } from 'node:child_process';

// psql and pg_dump are independent referees in tests; the product never runs them.

function run(cmd: string, args: string[], input?: string): string {
  const result = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${cmd} exited ${result.status}: ${result.stderr.trim().split('\n').slice(0, 10).join('\n')}`);
  }
  return result.stdout;
}

/** Runs a SQL file (or stdin text) with `psql -X -v ON_ERROR_STOP=1 --single-transaction`. */
export function psqlFile(url: string, file: string): string {
  return run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url, '-f', file]);
}

/** Runs SQL text through psql (ON_ERROR_STOP, one transaction). */
export function psqlText(url: string, text: string): string {
  return run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url, '-f', '-'], text);
}

/** `pg_dump --schema-only` of a database, with the lines that legitimately differ between two databases removed. */
export function pgDumpSchema(url: string, extraArgs: string[] = []): string {
  return pgDumpSchemaFull(url, ['--no-owner', '--no-privileges', ...extraArgs]);
}

/**
 * `pg_dump --schema-only` with owners and privileges (what a copy that carries them must reproduce). The tool's
 * own record of the last copy (schema mbsync_meta, see META_SCHEMA) is not part of the copy.
 */
export function pgDumpSchemaFull(url: string, extraArgs: string[] = []): string {
  const text = run('pg_dump', ['--schema-only', '--exclude-schema=mbsync_meta', ...extraArgs, '-d', url]);
  return text
    .split('\n')
    // pg_dump 15.14+ writes a random \restrict key per run
    .filter((line) => !line.startsWith('\\restrict') && !line.startsWith('\\unrestrict'))
    .join('\n');
}

/** Plain `pg_dump` output written to a file. */
export function pgDumpToFile(url: string, file: string, extraArgs: string[] = []): void {
  run('pg_dump', ['-Fp', ...extraArgs, '-f', file, '-d', url]);
}
