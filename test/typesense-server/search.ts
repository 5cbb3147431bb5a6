import { jsonReply, messageReply, type Reply } from './http-io.js';
import { searchCollectionNotFound } from './messages.js';
import { param, type Route, type RouteContext } from './router.js';
import { projectDocument } from './document-write.js';
import { compileFilter } from './filter.js';
import type { StoredCollection, TypesenseDocument } from './state.js';

/** `GET /collections/:c/documents/search`, minimal (contract §1.6). Listed before `documents/:id`. */
export const searchRoute: Route = { method: 'GET', pattern: '/collections/:collection/documents/search', handler: searchDocuments };

const MAX_QUERY_LENGTH = 4000;
const MAX_PER_PAGE = 250;

function tokens(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t !== '');
}

/**
 * Simple token matching on the `query_by` fields (the contract allows a fake this): every query token
 * must equal a field token, the last one may be a prefix (Typesense's default `prefix=true`).
 */
function textScore(doc: TypesenseDocument, fields: string[], query: string[]): number {
  const words = fields.flatMap((name) => {
    const value = doc[name];
    const parts = Array.isArray(value) ? value : [value];
    return parts.filter((p): p is string => typeof p === 'string').flatMap(tokens);
  });
  const matched = query.every((token, i) =>
    words.some((word) => word === token || (i === query.length - 1 && word.startsWith(token))),
  );
  return matched ? query.length : 0;
}

function searchDocuments(context: RouteContext): Reply {
  const { state, query } = context;
  const collection = state.resolveCollection(param(context, 'collection'));
  if (collection === undefined) return messageReply(404, searchCollectionNotFound(state.version));
  const q = query.get('q');
  if (q === null) return messageReply(400, 'Parameter `q` is required.');
  // Text of the length error is ours; the contract gives only the status (§1.6).
  if (q.length > MAX_QUERY_LENGTH) return messageReply(400, `Query string exceeds max allowed length of ${MAX_QUERY_LENGTH}.`);
  const wildcard = q === '*';
  const queryBy = (query.get('query_by') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!wildcard && queryBy.length === 0) return messageReply(400, 'No search fields specified for the query.');
  for (const name of queryBy) {
    const field = collection.schema.fields.find((f) => f.name === name);
    if (field === undefined) return messageReply(404, `Could not find a field named \`${name}\` in the schema.`);
    if (field.type !== 'string' && field.type !== 'string[]') {
      return messageReply(400, `Field \`${name}\` should be a string or a string array.`);
    }
  }
  const perPage = Number(query.get('per_page') ?? 10);
  if (perPage > MAX_PER_PAGE) return messageReply(422, 'Only upto 250 hits can be fetched per page.');
  const page = Number(query.get('page') ?? 1);

  let docs = [...collection.documents.values()];
  const filterBy = query.get('filter_by');
  if (filterBy !== null && filterBy !== '') {
    const compiled = compileFilter(filterBy, collection.schema);
    if (!compiled.ok) return messageReply(compiled.code, compiled.message);
    docs = docs.filter(compiled.value);
  }
  const queryTokens = tokens(q);
  const scored = docs
    .map((doc, seq) => ({ doc, seq, score: wildcard || queryTokens.length === 0 ? 1 : textScore(doc, queryBy, queryTokens) }))
    .filter((hit) => hit.score > 0);
  sortHits(scored, collection);

  const start = (page - 1) * perPage;
  const include = query.get('include_fields');
  const exclude = query.get('exclude_fields');
  const hits = scored.slice(start, start + perPage).map(({ doc, score }) => ({
    document: projectDocument(doc, include, exclude),
    highlight: {},
    highlights: [],
    ...(wildcard ? {} : { text_match: score, text_match_info: textMatchInfo(score) }),
  }));
  return jsonReply(200, {
    facet_counts: [],
    found: scored.length,
    hits,
    out_of: collection.documents.size,
    page,
    request_params: { collection_name: collection.schema.name, first_q: q, per_page: perPage, q },
    search_cutoff: false,
    search_time_ms: 0,
  });
}

/** Default ranking: text match, then the default sorting field descending, then newest first. */
function sortHits(hits: { doc: TypesenseDocument; seq: number; score: number }[], collection: StoredCollection): void {
  const sortingField = collection.schema.default_sorting_field;
  const key = (doc: TypesenseDocument): number => (sortingField === '' ? 0 : Number(doc[sortingField] ?? 0));
  hits.sort((a, b) => b.score - a.score || key(b.doc) - key(a.doc) || b.seq - a.seq);
}

function textMatchInfo(score: number): Record<string, unknown> {
  return {
    best_field_score: String(score),
    best_field_weight: 15,
    fields_matched: 1,
    num_tokens_dropped: 0,
    score: String(score),
    tokens_matched: score,
    typo_prefix_score: 0,
  };
}
