import type { TransferProgress } from '@mbsync/dump';

export interface ProgressOutput {
  /** a progress report for a phase */
  update(phase: string, progress: TransferProgress): void;
  /** a finished phase or command, with a summary */
  done(phase: string, summary: Record<string, unknown>): void;
  /** clears the bar (before printing an error) */
  clear(): void;
}

const BAR_WIDTH = 28;

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

function formatEta(seconds: number | null): string {
  if (seconds === null) return '--:--';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** A one-line bar redrawn in place on a terminal: phase, percent, table, bytes, rate, ETA. */
export class TerminalProgressBar implements ProgressOutput {
  #drawn = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(phase: string, p: TransferProgress): void {
    const filled = Math.round((Math.min(100, p.percent) / 100) * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const table = p.table ? ` ${p.table}` : '';
    let line = `${phase.padEnd(8)} ${bar} ${p.percent.toFixed(1).padStart(5)}%  ${p.tablesDone}/${p.tablesTotal} tables  ${formatBytes(p.bytesDone)}  ${formatBytes(p.bytesPerSecond)}/s  ETA ${formatEta(p.etaSeconds)}${table}`;
    const columns = this.stream.columns ?? 120;
    if (line.length > columns - 1) line = line.slice(0, columns - 2) + '…';
    this.stream.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  done(phase: string, summary: Record<string, unknown>): void {
    this.clear();
    const parts = Object.entries(summary).map(([k, v]) => `${k}=${typeof v === 'number' && k.toLowerCase().includes('bytes') ? formatBytes(v) : String(v)}`);
    this.stream.write(`${phase.padEnd(8)} done  ${parts.join('  ')}\n`);
  }

  clear(): void {
    if (this.#drawn) this.stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}

/** `--json`: one JSON object per line on stdout, for scripts. */
export class JsonLinesProgress implements ProgressOutput {
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}
  update(phase: string, progress: TransferProgress): void {
    this.stream.write(JSON.stringify({ type: 'progress', phase, ...progress }) + '\n');
  }
  done(phase: string, summary: Record<string, unknown>): void {
    this.stream.write(JSON.stringify({ type: 'done', phase, ...summary }) + '\n');
  }
  clear(): void {}
}

/** Neither a terminal nor --json: one plain line per finished phase, no bar. */
export class QuietProgress implements ProgressOutput {
  constructor(private readonly stream: NodeJS.WritableStream = process.stderr) {}
  update(): void {}
  done(phase: string, summary: Record<string, unknown>): void {
    this.stream.write(`${phase} done ${JSON.stringify(summary)}\n`);
  }
  clear(): void {}
}

/** The output for `--json`, a terminal or neither; `onActivity` (the stall watchdog's) hears every update. */
export function createProgressOutput(json: boolean, onActivity?: (phase?: string) => void): ProgressOutput {
  const output: ProgressOutput = json ? new JsonLinesProgress() : process.stderr.isTTY ? new TerminalProgressBar() : new QuietProgress();
  return {
    update(phase, progress) {
      onActivity?.(phase); // activity for the stall watchdog (STALL_TIMEOUT_SECONDS)
      output.update(phase, progress);
    },
    done: (phase, summary) => output.done(phase, summary),
    clear: () => output.clear(),
  };
}
