/** A standard-conforming SQL string literal ('' doubled; backslashes are literal under standard_conforming_strings). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
