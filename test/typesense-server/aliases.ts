import { jsonReply, messageReply, type Reply } from './http-io.js';
import { isJsonObject, parseJson } from './json.js';
import { collectionNotFound } from './messages.js';
import { param, type Route, type RouteContext } from './router.js';

/** Alias routes (contract §1.5, `core_api.cpp:2126-2215`). */
export const aliasRoutes: readonly Route[] = [
  { method: 'GET', pattern: '/aliases', handler: listAliases },
  { method: 'PUT', pattern: '/aliases/:alias', handler: upsertAlias },
  { method: 'GET', pattern: '/aliases/:alias', handler: getAlias },
  { method: 'DELETE', pattern: '/aliases/:alias', handler: deleteAlias },
];

function listAliases({ state }: RouteContext): Reply {
  const aliases = [...state.aliases].map(([name, target]) => ({ name, collection_name: target }));
  return jsonReply(200, { aliases });
}

/**
 * Upserts an alias. The target's existence is NOT checked; an alias may not take the name of a real
 * collection (500, `collection_manager.cpp:924-965`). The swap is a single map write, so atomic.
 */
function upsertAlias(context: RouteContext): Reply {
  const { state, body } = context;
  const name = param(context, 'alias');
  const json = parseJson(body.toString('utf8'));
  if (!json.ok || !isJsonObject(json.value)) return messageReply(400, 'Bad JSON.');
  const target = json.value.collection_name;
  if (typeof target !== 'string') return messageReply(400, 'Parameter `collection_name` is required.');
  if (state.collections.has(name)) return messageReply(500, `Name \`${name}\` conflicts with an existing collection name.`);
  state.aliases.set(name, target);
  return jsonReply(200, { ...json.value, name });
}

function getAlias(context: RouteContext): Reply {
  const { state } = context;
  const name = param(context, 'alias');
  const target = state.aliases.get(name);
  if (target === undefined) return messageReply(404, collectionNotFound(state.version));
  return jsonReply(200, { name, collection_name: target });
}

function deleteAlias(context: RouteContext): Reply {
  const { state } = context;
  const name = param(context, 'alias');
  const target = state.aliases.get(name);
  if (target === undefined) return messageReply(404, collectionNotFound(state.version));
  state.aliases.delete(name);
  return jsonReply(200, { name, collection_name: target });
}
