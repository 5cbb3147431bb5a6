/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort comparator for objects identified by schema and name (and routine arguments). */
export function byName(a: { schema: string; name: string; identityArguments?: string }, b: { schema: string; name: string; identityArguments?: string }): number {
  return compareText(a.schema, b.schema) || compareText(a.name, b.name) || compareText(a.identityArguments ?? '', b.identityArguments ?? '');
}

/** `{ [key]: value }` when value is neither null nor undefined, else `{}`: keeps absent fields absent in JSON. */
export function optional<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
