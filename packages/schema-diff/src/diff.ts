import type { SchemaModel } from './model.js';
import type { SchemaChange } from './diff/change.js';
import { diffCatalogObjects } from './diff/catalog-objects.js';
import type { DiffOptions } from './diff/context.js';
import { createContext } from './diff/context.js';
import { diffExtensions, diffRoutines, diffSchemaList, diffSequences, diffViews } from './diff/objects.js';
import { diffTables } from './diff/tables.js';
import { diffDefaultPrivileges, diffEventTriggers, diffPublications } from './diff/database-objects.js';
import { diffTypes } from './diff/types.js';

export type { ChangeKind, ChangeSeverity, DataOnlySeverity, ReplaceSeverity, SchemaChange, SchemaObjectType } from './diff/change.js';
export type { DiffOptions } from './diff/context.js';
export { typeFit } from './diff/type-fit.js';
export type { TypeCatalog, TypeFit } from './diff/type-fit.js';

/**
 * Compares the dump's schema (`from`, the source) with the target's (`to`): `removed` = only in the dump,
 * `added` = only in the target, `changed` = in both but different (`before` = dump, `after` = target).
 * Objects are matched by qualified name — a rename is a removal plus an addition — and columns by name only,
 * so column order is at most an informational table change. Every change carries what it means for a
 * replace import and for a data-only import (see `judgeImport`).
 *
 * Pure and deterministic: sections in a fixed order (schemas, extensions, types, sequences, tables with their
 * columns and parts, views, routines, then the catalog objects: collations, text search, casts, operators,
 * conversions, statistics), names in code-unit order within each; maps by name, no nested scans.
 */
export function diffSchemas(from: SchemaModel, to: SchemaModel, options: DiffOptions = {}): SchemaChange[] {
  const context = createContext(from, to, options);
  const out: SchemaChange[] = [];
  diffSchemaList(context, from, to, out);
  diffExtensions(context, from, to, out);
  diffTypes(context, from, to, out);
  diffSequences(context, from.sequences, to.sequences, out);
  diffTables(context, from.tables, to.tables, out);
  diffViews(context, from.views, to.views, out);
  diffRoutines(context, from, to, out);
  diffCatalogObjects(context, from, to, out);
  diffDefaultPrivileges(context, from, to, out);
  diffPublications(context, from, to, out);
  diffEventTriggers(context, from, to, out);
  return out;
}
