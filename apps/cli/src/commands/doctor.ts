import { parseArgs } from 'node:util';
import { UsageError, type CliContext } from '../cli-context.js';
import { runDoctor, type CheckResult } from '../doctor-checks.js';

export const doctorHelp = `Usage: pnpm mbsync doctor [--json] [--timeout <ms>]

Checks that this machine can run multiboard-sync, with the settings of .env and the environment:
  config                every setting valid, at least one environment, API_KEYS / METRICS_TOKEN long enough
  redis                 reachable; maxmemory-policy noeviction (else queue keys can be evicted); AOF on
  environment <name>    each database reachable: server version, database size, protected / loopback
  typesense <name>      each configured Typesense: /health ok and its API key accepted
  dump, backup dirs     writable, free and total space
Prints a table (or one JSON object with --json) and exits 1 when any check fails; warnings do not fail.
Nothing is written but a probe file in each directory, removed at once. Credentials are never printed.

Options:
  --json            print { ok, checks: [{ check, status, detail, data }] }
  --timeout <ms>    how long each connection may take (default 5000)
  -h, --help        show this help`;

/** Thrown after the table is printed when a check failed: main.ts exits with 1 without another message. */
export class DoctorFoundProblems extends Error {
  override name = 'DoctorFoundProblems';
  readonly exitCode = 1;
}

const MARK: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

/** CHECK · STATUS · DETAILS, padded; one line per check. */
export function renderChecks(checks: CheckResult[]): string {
  const rows = checks.map((c) => [c.check, MARK[c.status], c.detail]);
  const head = ['CHECK', 'STATUS', 'DETAILS'];
  const widths = [0, 1].map((i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd();
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  const summary = failed ? `${failed} problem(s)${warned ? `, ${warned} warning(s)` : ''}` : warned ? `no problems, ${warned} warning(s)` : 'all checks passed';
  return [line(head), ...rows.map(line), '', summary, ''].join('\n');
}

export async function doctorCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, timeout: { type: 'string' } }, strict: true });
  const timeoutMs = values.timeout === undefined ? 5_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000) throw new UsageError('--timeout takes milliseconds between 100 and 60000');
  const checks = await runDoctor(context.settings, { timeoutMs });
  const ok = checks.every((c) => c.status !== 'fail');
  process.stdout.write(values.json ? `${JSON.stringify({ ok, checks })}\n` : renderChecks(checks));
  if (!ok) throw new DoctorFoundProblems(`${checks.filter((c) => c.status === 'fail').length} check(s) failed`);
}
