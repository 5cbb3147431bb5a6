import type postgres from 'postgres';

/** A value a catalog query passes as a parameter. */
type Parameter = string | number | boolean | null | readonly Parameter[];

/**
 * `tx` with its `unsafe(query, parameters)` sending the parameters as literals in the query's text. The pools run
 * with `prepare: false` (poolers such as Supabase's), under which postgres.js asks the server to describe every
 * statement with parameters before running it: two round trips, and nothing pipelined behind it. The catalog read
 * runs ~45 such queries: ~1.8 s of a 10 ms link's round trips, 0 here. Every `$n` of these queries carries a cast
 * or stands where the server infers a type (the readers' SQL is the tool's own, no `$n` inside a quoted string).
 */
export function inlineParameters<T extends postgres.TransactionSql>(tx: T): T {
  return new Proxy(tx, {
    get(target, property, receiver) {
      if (property !== 'unsafe') return Reflect.get(target, property, receiver) as unknown;
      return (query: string, parameters?: readonly Parameter[], options?: postgres.UnsafeQueryOptions) => {
        if (!parameters || parameters.length === 0) return target.unsafe(query, parameters as never, options);
        return target.unsafe(query.replace(/\$(\d+)(?!\d)/g, (match, n: string) => {
          const index = Number(n) - 1;
          if (index >= parameters.length) throw new Error(`query parameter ${match} has no value`);
          return literal(parameters[index]!);
        }), [], options);
      };
    },
  });
}

/** A parameter as SQL text: strings quoted (E'' when they hold a backslash), arrays as array literals. */
export function literal(value: Parameter): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`query parameter ${value} is not a finite number`);
    return String(value);
  }
  return quoted(typeof value === 'string' ? value : arrayText(value));
}

function quoted(text: string): string {
  const body = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

function arrayText(values: readonly Parameter[]): string {
  return `{${values.map((v) => {
    if (v === null) return 'NULL';
    if (typeof v === 'boolean') return v ? 't' : 'f';
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return arrayText(v);
  }).join(',')}}`;
}
