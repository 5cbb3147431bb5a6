import { messageReply, textReply, type Reply } from './http-io.js';
import { toTypesenseJson } from './json.js';
import { collectionNotFound } from './messages.js';
import { param, type Route, type RouteContext } from './router.js';
import { INVALID_ACTION, parseAction, parseDocumentText, writeDocument, type WriteResult } from './document-write.js';
import { parseDirtyValues } from './validation.js';

/** `POST /collections/:c/documents/import` (contract §1.3, `core_api.cpp:1486-1690`). */
export const importRoute: Route = { method: 'POST', pattern: '/collections/:collection/documents/import', handler: importDocuments };

/** Parses a `true|false` query flag; `undefined` marks an invalid value. */
function parseFlag(raw: string | null): boolean | undefined {
  if (raw === null || raw === 'false') return false;
  return raw === 'true' ? true : undefined;
}

function importDocuments(context: RouteContext): Reply {
  const { state, query, body } = context;
  // Parameter checks come before the collection lookup, in the handler's order.
  const batchSize = query.get('batch_size') ?? '40';
  if (!/^\d+$/.test(batchSize) || Number(batchSize) === 0 || Number(batchSize) > 2 ** 32 - 1) {
    return messageReply(400, 'Parameter `batch_size` must be a positive integer.');
  }
  const action = parseAction(query.get('action'));
  if (action === undefined) return messageReply(400, INVALID_ACTION);
  const returnDoc = parseFlag(query.get('return_doc'));
  if (returnDoc === undefined) return messageReply(400, 'Parameter `return_doc` must be a true|false.');
  const returnId = parseFlag(query.get('return_id'));
  if (returnId === undefined) return messageReply(400, 'Parameter `return_id` must be a true|false.');
  // Unknown parameters (typesense-js' `throwOnFail`) are ignored.

  const collection = state.resolveCollection(param(context, 'collection'));
  if (collection === undefined) return messageReply(404, collectionNotFound(state.version));
  const dirty = parseDirtyValues(query.get('dirty_values'), collection.schema);

  // Split on `\n`, drop empty lines, no trimming (a trailing `\r` is JSON whitespace).
  const lines = body.toString('utf8').split('\n').filter((line) => line !== '');
  const results = lines.map((line) => {
    const parsed = parseDocumentText(line);
    const result: WriteResult = parsed.ok
      ? writeDocument(collection, parsed.value, action, dirty, parsed.floats)
      : { ok: false, code: 400, error: parsed.error };
    if (result.ok) {
      return {
        success: true,
        ...(returnId ? { id: result.document.id } : {}),
        ...(returnDoc ? { document: result.document } : {}),
      };
    }
    return {
      success: false,
      code: result.code,
      error: result.error,
      ...(returnId && result.id !== undefined ? { id: result.id } : {}),
      // v27 always echoed the failed line; v28+ only with return_doc (§1.8).
      ...(returnDoc || state.version === 27 ? { document: line } : {}),
    };
  });
  // Always 200 text/plain, one line per input line, no trailing newline (`core_api.cpp:1664-1674`).
  return textReply(200, results.map(toTypesenseJson).join('\n'));
}
