import { jsonReply, messageReply, type Reply } from './http-io.js';
import { isJsonObject, parseJson } from './json.js';
import { collectionNotFound, type TypesenseVersion } from './messages.js';
import { param, type Route, type RouteContext } from './router.js';
import { parseCollectionSchema, parseField, type FieldSchema } from './schema.js';
import type { StoredCollection } from './state.js';

/** Routes for `/collections` (contract §1.2). */
export const collectionRoutes: readonly Route[] = [
  { method: 'POST', pattern: '/collections', handler: createCollection },
  { method: 'GET', pattern: '/collections', handler: listCollections },
  { method: 'GET', pattern: '/collections/:collection', handler: getCollection },
  { method: 'DELETE', pattern: '/collections/:collection', handler: deleteCollection },
  { method: 'PATCH', pattern: '/collections/:collection', handler: alterCollection },
];

function createCollection({ state, body }: RouteContext): Reply {
  const json = parseJson(body.toString('utf8'));
  const parsed = parseCollectionSchema(json.ok ? json.value : undefined);
  if (!parsed.ok) return messageReply(parsed.code, parsed.message);
  // Only a real collection conflicts; an alias of the same name is shadowed (§1.5).
  if (state.collections.has(parsed.value.name)) {
    return messageReply(409, `A collection with name \`${parsed.value.name}\` already exists.`);
  }
  return jsonReply(201, collectionSummary(state.addCollection(parsed.value), state.version));
}

function listCollections({ state, query }: RouteContext): Reply {
  // Newest first: sorted by internal id, descending (`collection_manager.cpp:769-807`).
  let all = [...state.collections.values()].sort((a, b) => b.id - a.id);
  const offset = Number(query.get('offset') ?? 0);
  const limit = query.get('limit');
  all = all.slice(Number.isInteger(offset) && offset > 0 ? offset : 0);
  if (limit !== null && Number.isInteger(Number(limit))) all = all.slice(0, Number(limit));
  return jsonReply(200, all.map((c) => collectionSummary(c, state.version)));
}

function getCollection(context: RouteContext): Reply {
  const { state } = context;
  // Resolves aliases: the summary then carries the real name (`collection_manager.cpp:738-752`).
  const collection = state.resolveCollection(param(context, 'collection'));
  if (collection === undefined) return messageReply(404, collectionNotFound(state.version));
  return jsonReply(200, collectionSummary(collection, state.version));
}

function deleteCollection(context: RouteContext): Reply {
  const { state } = context;
  const name = param(context, 'collection');
  const collection = state.resolveCollection(name);
  if (collection === undefined) return messageReply(404, `No collection with name \`${name}\` found.`);
  // Summary taken before the drop; an alias used here is NOT removed and now dangles (#223).
  const summary = collectionSummary(collection, state.version);
  state.collections.delete(collection.schema.name);
  return jsonReply(200, summary);
}

/** `PATCH /collections/:name`: only `fields` and `metadata`; answers with an echo (`core_api.cpp:301-367`). */
function alterCollection(context: RouteContext): Reply {
  const { state, body } = context;
  const json = parseJson(body.toString('utf8'));
  if (!json.ok || !isJsonObject(json.value)) return messageReply(400, 'Bad JSON.');
  const alter = json.value;
  if (Object.keys(alter).length === 0) return messageReply(400, 'Alter payload is empty.');
  if (Object.keys(alter).some((key) => key !== 'fields' && key !== 'metadata')) {
    return messageReply(400, 'Only `fields` and `metadata` can be updated at the moment.');
  }
  const collection = state.resolveCollection(param(context, 'collection'));
  if (collection === undefined) return messageReply(404, collectionNotFound(state.version));
  const fields = [...collection.schema.fields];
  if (alter.fields !== undefined) {
    if (!Array.isArray(alter.fields)) {
      return messageReply(400, 'The `fields` value should be an array of objects containing the field `name` and other properties.');
    }
    for (const change of alter.fields as unknown[]) {
      const error = applyFieldChange(fields, change, collection.schema.enable_nested_fields, [...collection.documents.values()]);
      if (error !== undefined) return messageReply(400, error);
    }
  }
  if (alter.metadata !== undefined && !isJsonObject(alter.metadata)) return messageReply(400, 'The `metadata` value should be an object.');
  collection.schema = {
    ...collection.schema,
    fields,
    metadata: isJsonObject(alter.metadata) ? alter.metadata : collection.schema.metadata,
  };
  return jsonReply(200, alter);
}

/** Applies one alter entry (`{name, drop:true}` or a new field); returns an error text. */
function applyFieldChange(fields: FieldSchema[], change: unknown, nested: boolean, docs: Record<string, unknown>[]): string | undefined {
  if (isJsonObject(change) && change.drop === true && typeof change.name === 'string') {
    const index = fields.findIndex((f) => f.name === change.name);
    if (index < 0) return `Field \`${change.name}\` is not part of collection schema.`;
    fields.splice(index, 1);
    return undefined;
  }
  const parsed = parseField(change, nested);
  if (!parsed.ok) return parsed.message;
  const field = parsed.value;
  if (field === null) return undefined;
  if (fields.some((f) => f.name === field.name)) {
    return `Field \`${field.name}\` is already part of the schema: To change this field, drop it first before adding it back to the schema.`;
  }
  if (!field.optional && docs.some((doc) => !(field.name in doc))) {
    return `Field \`${field.name}\` has been declared in the schema, but is not found in the documents already present in the collection. If you still want to add this field, set it as \`optional: true\`.`;
  }
  fields.push(field);
  return undefined;
}

/** The collection summary (contract §1.2, `collection.cpp:318-418`); `stem_dictionary` is v28+. */
export function collectionSummary(collection: StoredCollection, version: TypesenseVersion): Record<string, unknown> {
  const { schema } = collection;
  return {
    name: schema.name,
    num_documents: collection.documents.size,
    created_at: collection.createdAt,
    enable_nested_fields: schema.enable_nested_fields,
    token_separators: schema.token_separators,
    symbols_to_index: schema.symbols_to_index,
    default_sorting_field: schema.default_sorting_field,
    metadata: schema.metadata,
    fields: schema.fields.map((field) => (version >= 28 ? { ...field, stem_dictionary: '' } : { ...field })),
  };
}
