/**
 * JSON output as Typesense writes it. nlohmann::json keeps object keys in a std::map, so every object
 * is emitted with its keys in byte order (contract §1.0). `JSON.stringify` cannot be used on rebuilt
 * objects because JS always lists integer-like keys ("9", "10") first, in numeric order.
 */
export function toTypesenseJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: unknown) => toTypesenseJson(item ?? null)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort(compareBytes);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${toTypesenseJson(record[key])}`).join(',')}}`;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON into an outcome instead of throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/**
 * Paths of number literals written with a fraction or an exponent (`5.0`, `1e3`), as `key` for
 * top-level values and `key/index` for elements of top-level arrays. `JSON.parse` turns `5.0` into 5,
 * but nlohmann keeps it a float and int32/int64 fields reject it (contract §1.3), so the importer
 * needs to know. `text` must already be valid JSON.
 */
export function floatLiteralPaths(text: string): Set<string> {
  const paths = new Set<string>();
  const stack: { array: boolean; key: string; index: number; expectKey: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') {
      stack.push({ array: ch === '[', key: '', index: 0, expectKey: ch === '{' });
      i++;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',') {
      if (top !== undefined) {
        if (top.array) top.index++;
        else top.expectKey = true;
      }
      i++;
    } else if (ch === ':') {
      if (top !== undefined) top.expectKey = false;
      i++;
    } else if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top !== undefined && !top.array && top.expectKey) top.key = JSON.parse(text.slice(i, end + 1)) as string;
      i = end + 1;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      const literal = match?.[0] ?? ch;
      if (/[.eE]/.test(literal)) {
        const parent = stack[stack.length - 2];
        if (stack.length === 1 && top !== undefined && !top.array) paths.add(top.key);
        else if (stack.length === 2 && top?.array === true && parent !== undefined) paths.add(`${parent.key}/${top.index}`);
      }
      i += literal.length;
    } else {
      i++;
    }
  }
  return paths;
}
