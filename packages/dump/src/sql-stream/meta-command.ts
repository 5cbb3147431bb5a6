import { SqlStreamError } from './sql-stream-error.js';

/** Longest backslash-command line accepted; pg_dump's `\restrict KEY` lines are far shorter. */
export const META_LINE_LIMIT = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Judges a psql backslash command (`bytes`: the line after the backslash). Only `\restrict KEY` and
 * `\unrestrict KEY` between statements pass: pg_dump 15.14+/17.6+ writes them around every plain dump.
 * Anything else psql would execute (`\connect`, `\i`, `\!`, `\set`, `\copy`, …) is refused, and so is a
 * backslash command inside a statement, which psql would run with the statement still pending.
 */
export function parseMetaCommand(
  bytes: number[],
  line: number,
  inStatement: boolean,
): { kind: 'meta'; command: 'restrict' | 'unrestrict'; argument: string; line: number } {
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    text = Buffer.from(bytes).toString('latin1'); // only ever shown in an error message
  }
  const match = /^([^\s\\]*)([^\n]*)$/.exec(text.replace(/\r$/, '')) ?? [];
  const name = match[1] ?? '';
  const rest = match[2] ?? '';
  if (inStatement || (name !== 'restrict' && name !== 'unrestrict')) {
    const where = inStatement ? ' inside a statement' : '';
    throw new SqlStreamError('DUMP_BACKSLASH_COMMAND', `psql meta-command \\${shown(name)}${where} is not allowed in a dump`, line);
  }
  const argument = rest.trim();
  if (!/^[^\s\\]+$/.test(argument)) {
    throw new SqlStreamError('DUMP_SQL_SYNTAX', `\\${name} needs exactly one key argument`, line);
  }
  return { kind: 'meta', command: name, argument, line };
}

/** A name as it may appear in a message: bounded, control and other invisible characters escaped. */
function shown(name: string): string {
  const chars = [...name];
  const text = chars.slice(0, 40).map((c) => (/[\p{L}\p{N}\p{P}\p{S}]/u.test(c) ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`)).join('');
  return chars.length > 40 ? `${text}…` : text;
}
