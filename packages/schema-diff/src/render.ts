import type { ChangeKind, SchemaChange } from './diff/change.js';
import type { ModeVerdict, Verdict } from './verdict.js';

export interface RenderOptions {
  /** ANSI colours (the CLI passes true for a terminal unless NO_COLOR is set). */
  color?: boolean;
}

type Paint = (code: string, text: string) => string;

const RED = '31';
const GREEN = '32';
const YELLOW = '33';
const DIM = '2';
const BOLD = '1';

const MARK: Record<ChangeKind, string> = { removed: '-', added: '+', changed: '~' };
const SEVERITY_COLOUR: Record<string, string> = { destructive: RED, blocking: RED, warning: YELLOW, info: DIM, ok: DIM };

function severityText(change: SchemaChange, paint: Paint): string {
  const parts: string[] = [];
  for (const [mode, value] of [['replace', change.severity.replace], ['data-only', change.severity['data-only']]] as const) {
    parts.push(`${mode}: ${paint(SEVERITY_COLOUR[value] ?? DIM, value)}`);
  }
  return parts.join(', ');
}

function verdictLines(mode: string, verdict: ModeVerdict, paint: Paint): string[] {
  const state = !verdict.allowed ? paint(RED, 'refused')
    : verdict.needsConfirmation ? paint(YELLOW, 'allowed after confirmation') : paint(GREEN, 'allowed');
  const lines = [`  ${`${mode}:`.padEnd(11)}${state}`];
  for (const r of verdict.reasons) lines.push(`    ${paint(verdict.allowed ? YELLOW : RED, '!')} ${r}`);
  for (const w of verdict.warnings) lines.push(`    ${paint(DIM, '·')} ${w}`);
  return lines;
}

/**
 * The diff and the verdict as text for a terminal: one entry per changed object (`-` only in the dump, `+` only in
 * the target, `~` changed) with what it means for each import mode, then the verdict of each mode with reasons.
 */
export function renderReport(changes: SchemaChange[], verdict: Verdict, options: RenderOptions = {}): string {
  const paint: Paint = options.color ? (code, text) => `\u001b[${code}m${text}\u001b[0m` : (_code, text) => text;
  const lines: string[] = [];
  if (changes.length === 0) {
    lines.push(paint(GREEN, verdict.dependents.length > 0 ? 'No schema differences in the replaced schemas.' : 'No schema differences.'));
  } else {
    lines.push(paint(BOLD, `Schema differences: ${changes.length}`) + paint(DIM, '  (- only in the dump/source, + only in the target, ~ changed)'));
    const typeWidth = Math.min(18, Math.max(...changes.map((c) => c.objectType.length)));
    for (const change of changes) {
      const markColour = change.kind === 'added' ? GREEN : change.kind === 'removed' ? RED : YELLOW;
      lines.push(`  ${paint(markColour, MARK[change.kind])} ${change.objectType.padEnd(typeWidth)} ${paint(BOLD, change.name)}  ${paint(DIM, '[')}${severityText(change, paint)}${paint(DIM, ']')}`);
      if (change.detail) lines.push(`      ${change.detail}`);
    }
  }
  lines.push('', paint(BOLD, 'Verdict'));
  lines.push(...verdictLines('replace', verdict.replace, paint));
  lines.push(...verdictLines('data-only', verdict['data-only'], paint));
  if (verdict.dependents.length > 0) {
    lines.push(`  ${paint(BOLD, 'outside the replaced schemas, depending on them:')}`);
    for (const d of verdict.dependents) {
      lines.push(`    ${d.recreated ? paint(GREEN, 'recreated') : paint(RED, 'dropped  ')} ${d.object}${d.reason ? paint(DIM, ` (${d.reason})`) : ''}`);
    }
  }
  if (verdict.missingExtensions.length > 0) {
    lines.push(`  ${paint(YELLOW, 'missing extensions on the target:')} ${verdict.missingExtensions.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
