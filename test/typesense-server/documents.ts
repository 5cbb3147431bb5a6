import { jsonReply, messageReply, textReply, type Reply } from './http-io.js';
import { isJsonObject, toTypesenseJson } from './json.js';
import { collectionNotFound, documentNotFound } from './messages.js';
import { param, type Route, type RouteContext } from './router.js';
import { INVALID_ACTION, parseAction, parseDocumentText, projectDocument, writeDocument } from './document-write.js';
import { compileFilter, type DocumentFilter } from './filter.js';
import type { StoredCollection } from './state.js';
import { parseDirtyValues, validateDocument } from './validation.js';

/** Single-document, by-filter and export routes (contract §1.4). */
export const documentRoutes: readonly Route[] = [
  { method: 'GET', pattern: '/collections/:collection/documents/export', handler: exportDocuments },
  { method: 'POST', pattern: '/collections/:collection/documents', handler: addDocument },
  { method: 'DELETE', pattern: '/collections/:collection/documents', handler: deleteByFilter },
  { method: 'PATCH', pattern: '/collections/:collection/documents', handler: updateByFilter },
  { method: 'GET', pattern: '/collections/:collection/documents/:id', handler: getDocument },
  { method: 'PATCH', pattern: '/collections/:collection/documents/:id', handler: patchDocument },
  { method: 'DELETE', pattern: '/collections/:collection/documents/:id', handler: deleteDocument },
];

/** Resolves the `:collection` parameter (through aliases) or builds the version's 404. */
function lookup(context: RouteContext): StoredCollection | Reply {
  const collection = context.state.resolveCollection(param(context, 'collection'));
  return collection ?? messageReply(404, collectionNotFound(context.state.version));
}

function isReply(value: StoredCollection | Reply): value is Reply {
  return 'status' in value;
}

/** `POST …/documents?action=`: 201 + the stored document; errors carry the import line's code. */
function addDocument(context: RouteContext): Reply {
  const action = parseAction(context.query.get('action'));
  if (action === undefined) return messageReply(400, INVALID_ACTION);
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const parsed = parseDocumentText(context.body.toString('utf8'));
  if (!parsed.ok) return messageReply(400, parsed.error);
  const dirty = parseDirtyValues(context.query.get('dirty_values'), collection.schema);
  const result = writeDocument(collection, parsed.value, action, dirty, parsed.floats);
  return result.ok ? jsonReply(201, result.document) : messageReply(result.code, result.error);
}

function getDocument(context: RouteContext): Reply {
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const id = param(context, 'id');
  const doc = collection.documents.get(id);
  return doc === undefined ? messageReply(404, documentNotFound(id)) : jsonReply(200, doc);
}

/** `PATCH …/documents/:id`: UPDATE semantics, 200 + the merged document. */
function patchDocument(context: RouteContext): Reply {
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const id = param(context, 'id');
  if (!collection.documents.has(id)) return messageReply(404, documentNotFound(id));
  const parsed = parseDocumentText(context.body.toString('utf8'));
  if (!parsed.ok) return messageReply(400, parsed.error);
  if (!isJsonObject(parsed.value)) return messageReply(400, 'Bad JSON: not a properly formed document.');
  const dirty = parseDirtyValues(context.query.get('dirty_values'), collection.schema);
  const result = writeDocument(collection, { ...parsed.value, id }, 'update', dirty, parsed.floats);
  return result.ok ? jsonReply(200, result.document) : messageReply(result.code, result.error);
}

/** `DELETE …/documents/:id`: 200 + the deleted document; `ignore_not_found=true` tolerates a miss. */
function deleteDocument(context: RouteContext): Reply {
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const id = param(context, 'id');
  const doc = collection.documents.get(id);
  if (doc === undefined) {
    return context.query.get('ignore_not_found') === 'true' ? jsonReply(200, { id }) : messageReply(404, documentNotFound(id));
  }
  collection.documents.delete(id);
  return jsonReply(200, doc);
}

/** `DELETE …/documents?filter_by=` → `{"num_deleted":N}`; `truncate=true` from v28 (§1.4, §1.8). */
function deleteByFilter(context: RouteContext): Reply {
  const { state, query } = context;
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const truncate = state.version >= 28 && query.get('truncate') === 'true';
  const filterBy = query.get('filter_by');
  if (!truncate && (filterBy === null || filterBy === '')) return messageReply(400, 'Parameter `filter_by` must be provided.');
  let matches: DocumentFilter = () => true;
  if (!truncate) {
    const compiled = compileFilter(filterBy ?? '', collection.schema);
    if (!compiled.ok) return messageReply(compiled.code, compiled.message);
    matches = compiled.value;
  }
  const deleted = [...collection.documents.values()].filter((doc) => matches(doc));
  for (const doc of deleted) collection.documents.delete(doc.id as string);
  return jsonReply(200, {
    num_deleted: deleted.length,
    ...(query.get('return_id') === 'true' ? { ids: deleted.map((doc) => doc.id) } : {}),
    ...(query.get('return_doc') === 'true' ? { documents: deleted } : {}),
  });
}

/** `PATCH …/documents?filter_by=` → `{"num_updated":N}`: a partial document merged into every match. */
function updateByFilter(context: RouteContext): Reply {
  const { query } = context;
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  const filterBy = query.get('filter_by');
  if (filterBy === null || filterBy === '') return messageReply(400, 'Parameter `filter_by` must be provided.');
  const compiled = compileFilter(filterBy, collection.schema);
  if (!compiled.ok) return messageReply(compiled.code, compiled.message);
  const parsed = parseDocumentText(context.body.toString('utf8'));
  if (!parsed.ok) return messageReply(400, parsed.error);
  if (!isJsonObject(parsed.value)) return messageReply(400, 'Bad JSON: not a properly formed document.');
  const patch = { ...parsed.value };
  delete patch.id;
  const dirty = parseDirtyValues(query.get('dirty_values'), collection.schema);
  const error = validateDocument(collection.schema, { ...patch }, { complete: false, checkDefaultSortingField: false }, dirty, parsed.floats);
  if (error !== undefined) return messageReply(error.code, error.error);
  const targets = [...collection.documents.values()].filter(compiled.value);
  for (const doc of targets) writeDocument(collection, { ...patch, id: doc.id }, 'update', dirty, parsed.floats);
  return jsonReply(200, { num_updated: targets.length });
}

/** `GET …/documents/export`: JSONL in storage order, no trailing newline (`core_api.cpp:1337-1484`). */
function exportDocuments(context: RouteContext): Reply {
  const { query } = context;
  const collection = lookup(context);
  if (isReply(collection)) return collection;
  let docs = [...collection.documents.values()];
  const filterBy = query.get('filter_by');
  if (filterBy !== null && filterBy !== '') {
    const compiled = compileFilter(filterBy, collection.schema);
    if (!compiled.ok) return messageReply(compiled.code, compiled.message);
    docs = docs.filter(compiled.value);
  }
  const include = query.get('include_fields');
  const exclude = query.get('exclude_fields');
  return textReply(200, docs.map((doc) => toTypesenseJson(projectDocument(doc, include, exclude))).join('\n'));
}
