import type { Cast, Operator } from './catalog-objects.js';
import { catalogObjects, operatorArguments } from './catalog-objects.js';
import type { SchemaModel } from './model.js';
import { objectKey } from './model.js';

/** Dependency-graph key of a cast: its two types stand for schema and name. */
export function castKey(c: Pick<Cast, 'source' | 'target'>): string {
  return objectKey('cast', c.source, c.target);
}

/** Dependency-graph key of an operator: schema, symbol and operands (`NONE, integer` for a prefix operator). */
export function operatorKey(o: Pick<Operator, 'schema' | 'name' | 'left' | 'right'>): string {
  return objectKey('operator', o.schema, o.name, operatorArguments(o));
}

/**
 * The dependency-graph keys of a model's catalog objects that are created before the data (statistics come after
 * it, like indexes, and need no node). introspect's OBJECTS query spells the same keys.
 */
export function catalogObjectKeys(model: SchemaModel): string[] {
  const c = catalogObjects(model);
  return [
    ...c.collations.map((o) => objectKey('collation', o.schema, o.name)),
    ...c.textSearchParsers.map((o) => objectKey('ts-parser', o.schema, o.name)),
    ...c.textSearchTemplates.map((o) => objectKey('ts-template', o.schema, o.name)),
    ...c.textSearchDictionaries.map((o) => objectKey('ts-dictionary', o.schema, o.name)),
    ...c.textSearchConfigurations.map((o) => objectKey('ts-configuration', o.schema, o.name)),
    ...c.casts.map(castKey),
    ...c.operators.map(operatorKey),
    ...c.operatorFamilies.map((o) => objectKey('operator-family', o.schema, o.name, o.method)),
    ...c.operatorClasses.map((o) => objectKey('operator-class', o.schema, o.name, o.method)),
    ...c.conversions.map((o) => objectKey('conversion', o.schema, o.name)),
  ];
}

/** pg_identify_object's quoting of one name part (quote_ident without the keyword list: close enough for keys). */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * `type:identity` as pg_identify_object names the model's catalog objects (`collation:public.german`,
 * `operator class:public.int4_rev USING btree`, `cast:(integer AS public.pair)`): how readDependents names what an
 * object outside the replaced schemas needs, so that a replace knows the dump brings it back.
 */
export function catalogObjectIdentities(model: SchemaModel): string[] {
  const c = catalogObjects(model);
  const q = (o: { schema: string; name: string }) => `${ident(o.schema)}.${ident(o.name)}`;
  return [
    ...c.collations.map((o) => `collation:${q(o)}`),
    ...c.textSearchParsers.map((o) => `text search parser:${q(o)}`),
    ...c.textSearchTemplates.map((o) => `text search template:${q(o)}`),
    ...c.textSearchDictionaries.map((o) => `text search dictionary:${q(o)}`),
    ...c.textSearchConfigurations.map((o) => `text search configuration:${q(o)}`),
    ...c.casts.map((o) => `cast:(${o.source} AS ${o.target})`),
    ...c.operators.map((o) => `operator:${ident(o.schema)}.${o.name}(${o.left ?? 'NONE'},${o.right})`),
    ...c.operatorFamilies.map((o) => `operator family:${q(o)} USING ${o.method}`),
    ...c.operatorClasses.map((o) => `operator class:${q(o)} USING ${o.method}`),
    ...c.conversions.map((o) => `conversion:${q(o)}`),
    ...c.statistics.map((o) => `statistics object:${q(o)}`),
  ];
}
