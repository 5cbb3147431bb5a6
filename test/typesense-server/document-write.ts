import { floatLiteralPaths, isJsonObject, parseJson } from './json.js';
import { documentNotFound } from './messages.js';
import type { StoredCollection, TypesenseDocument } from './state.js';
import { validateDocument, type DirtyValues } from './validation.js';

/** Import/write actions (contract §1.3). */
export type WriteAction = 'create' | 'upsert' | 'update' | 'emplace';

/** The message for an invalid `action` (the server omits `emplace` from it). */
export const INVALID_ACTION = 'Parameter `action` must be a create|update|upsert.';

/** Parses `action`, defaulting to `create`; `undefined` for an invalid value. */
export function parseAction(raw: string | null): WriteAction | undefined {
  const action = raw ?? 'create';
  return action === 'create' || action === 'upsert' || action === 'update' || action === 'emplace' ? action : undefined;
}

/** Outcome of one write: the stored document, or the import line's `code`/`error`. */
export type WriteResult =
  | { ok: true; document: TypesenseDocument }
  | { ok: false; code: number; error: string; /** the document's own id, when it had a string one */ id?: string };

/**
 * Parses one JSON text into a document-or-error. nlohmann's parse error texts are long and
 * position-specific; the fake keeps their prefix (`Bad JSON: [json.exception.parse_error.101]`).
 */
export function parseDocumentText(text: string): { ok: true; value: unknown; floats: Set<string> } | { ok: false; error: string } {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return { ok: false, error: `Bad JSON: [json.exception.parse_error.101] parse error: syntax error while parsing value - ${parsed.error}` };
  }
  return { ok: true, value: parsed.value, floats: floatLiteralPaths(text) };
}

/**
 * Applies one write to a collection with Typesense's rules (contract §1.3): id checks, 409 for
 * `create` of an existing id, 404 for `update` of a missing one, complete documents for
 * create/upsert/new emplace, partial ones for update/existing emplace, strict typing.
 */
export function writeDocument(
  collection: StoredCollection,
  input: unknown,
  action: WriteAction,
  dirty: DirtyValues,
  floats: ReadonlySet<string> = new Set(),
): WriteResult {
  if (!isJsonObject(input)) return { ok: false, code: 400, error: 'Bad JSON: not a properly formed document.' };
  const doc: TypesenseDocument = { ...input };
  let id: string;
  if ('id' in doc) {
    if (typeof doc.id !== 'string') return { ok: false, code: 400, error: "Document's `id` field should be a string." };
    if (doc.id === '') return { ok: false, code: 400, error: 'The `id` should not be empty.' };
    id = doc.id;
  } else if (action === 'update') {
    return { ok: false, code: 400, error: 'For update, the `id` key must be provided.' };
  } else {
    // Typesense uses the document's sequence id as its generated id.
    id = String(collection.nextSeqId++);
    doc.id = id;
  }
  const existing = collection.documents.get(id);
  const fail = (code: number, error: string): WriteResult => ({ ok: false, code, error, ...('id' in input ? { id } : {}) });

  if (action === 'create' && existing !== undefined) return fail(409, `A document with id ${id} already exists.`);
  if (action === 'update' && existing === undefined) return fail(404, documentNotFound(id));

  const partial = existing !== undefined && (action === 'update' || action === 'emplace');
  const error = validateDocument(
    collection.schema,
    doc,
    { complete: !partial, checkDefaultSortingField: action === 'create' || action === 'upsert' },
    dirty,
    floats,
  );
  if (error !== undefined) return fail(error.code, error.error);

  let stored: TypesenseDocument = doc;
  if (partial && existing !== undefined) {
    stored = { ...existing, ...doc };
    // On update, `null` on an optional field removes the stored value (validator keeps the key for this).
    for (const field of collection.schema.fields) {
      if (field.optional && stored[field.name] === null) delete stored[field.name];
    }
  }
  if (existing === undefined && 'id' in input) collection.nextSeqId++;
  collection.documents.set(id, stored);
  return { ok: true, document: stored };
}

/** Applies `include_fields`/`exclude_fields` (comma-separated) to a document copy. */
export function projectDocument(doc: TypesenseDocument, include: string | null, exclude: string | null): TypesenseDocument {
  const split = (list: string | null): string[] => (list ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const included = split(include);
  const excluded = new Set(split(exclude));
  const keys = Object.keys(doc).filter((key) => (included.length === 0 || included.includes(key)) && !excluded.has(key));
  return Object.fromEntries(keys.map((key) => [key, doc[key]]));
}
