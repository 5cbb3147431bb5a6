import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const TIME_BINARY = '/usr/bin/time';

/** How the figures are taken, printed under every table. */
export const MEASUREMENT_METHOD = 'wall = monotonic clock from spawn to exit of the whole command (pipeline); '
  + 'peak RSS = ru_maxrss of each process as returned by wait4, read with GNU time (/usr/bin/time -f %M); '
  + 'CPU = user + system time of the process and its children (GNU time %U + %S); '
  + 'server-side memory is not included.';

/** A program and its arguments (no shell). */
export interface Command {
  command: string;
  args: string[];
}

/** One process of a measured command. */
export interface ProcessFigures {
  command: string;
  wallSeconds: number;
  peakRssBytes: number;
  /** user + system CPU seconds */
  cpuSeconds: number;
}

export interface Measurement {
  wallSeconds: number;
  /** one entry per pipeline stage, in order */
  processes: ProcessFigures[];
  exitCode: number;
  /** the last few KB of the combined stderr */
  stderrTail: string;
}

/** Fails early, with the reason, when GNU time is missing: Node cannot read a child's peak RSS on its own. */
export function assertTimeAvailable(): void {
  if (!existsSync(TIME_BINARY)) {
    throw new Error(`${TIME_BINARY} (GNU time) is needed to read each process's peak RSS; install the "time" package`);
  }
}

/**
 * Runs `stages` as a shell pipeline (a single stage is just that command), each stage under GNU time,
 * and returns the pipeline's wall time, each stage's wall time and peak RSS, and the pipefail exit code.
 * Data flows between stages through kernel pipes, never through this process. Aborting kills the pipeline.
 */
export async function measure(stages: Command[], options: { scratch: string; cwd?: string; signal?: AbortSignal }): Promise<Measurement> {
  assertTimeAvailable();
  const timeFiles = stages.map((_, i) => join(options.scratch, `time-${process.pid}-${Date.now()}-${i}.txt`));
  const script = 'set -o pipefail; ' + stages
    .map((stage, i) => [TIME_BINARY, '-f', '%e %M %U %S', '-o', timeFiles[i]!, stage.command, ...stage.args].map(shellQuote).join(' '))
    .join(' | ');
  const started = performance.now();
  const child = spawn('bash', ['-c', script], { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const onAbort = () => {
    // the pipeline runs in its own process group: take all of it down
    if (child.pid) try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (options.signal?.aborted) throw new Error('interrupted');
    const processes = await Promise.all(stages.map(async (stage, i): Promise<ProcessFigures> => {
      const figures = await readTimeFile(timeFiles[i]!);
      return { command: stage.command, ...figures };
    }));
    return { wallSeconds, processes, exitCode, stderrTail: stderr };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(timeFiles.map((f) => rm(f, { force: true })));
  }
}

/** GNU time writes "Command exited with non-zero status N" before the format line when the child fails. */
async function readTimeFile(file: string): Promise<{ wallSeconds: number; peakRssBytes: number; cpuSeconds: number }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const line = text.trim().split('\n').pop() ?? '';
  const match = /^(\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line);
  if (!match) return { wallSeconds: Number.NaN, peakRssBytes: Number.NaN, cpuSeconds: Number.NaN };
  return { wallSeconds: Number(match[1]), peakRssBytes: Number(match[2]) * 1024, cpuSeconds: Number(match[3]) + Number(match[4]) };
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The command that runs the built mbsync CLI, as `pnpm mbsync` and the deployed service do (`pnpm bench` builds first). */
export function mbsyncCommand(args: string[]): Command {
  return { command: process.execPath, args: ['apps/cli/dist/bundle/main.js', ...args] };
}

/** The repository root: the CLI is run from there, as `pnpm mbsync` would. */
export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** What starting the CLI costs by itself: `mbsync --help`, median of 3. */
export async function measureStartup(options: { scratch: string; signal?: AbortSignal }): Promise<{ wallSeconds: number; peakRssBytes: number }> {
  const walls: number[] = [];
  let peakRssBytes = 0;
  for (let i = 0; i < 3; i++) {
    const m = await measure([mbsyncCommand(['--help'])], { ...options, cwd: REPO_ROOT });
    walls.push(m.wallSeconds);
    peakRssBytes = Math.max(peakRssBytes, m.processes[0]!.peakRssBytes);
  }
  return { wallSeconds: median(walls), peakRssBytes };
}
