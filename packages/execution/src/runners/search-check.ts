import type { SchemaModel } from '@mbsync/schema-diff';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { JobsError } from '@mbsync/jobs';

/**
 * Refuses, before the import writes anything, a dump whose tables and columns the target's collection specs
 * cannot read (JOBS_SEARCH_SPEC_MISMATCH): the reindex after the commit would fail on them, with the target
 * already replaced. Only relations in `schemas` (the schemas the import replaces) are checked; the rest of the
 * target is left as it is, and the reindex checks it itself.
 */
export async function assertSpecsFitDump(specs: readonly CollectionSpec[], model: SchemaModel, schemas: readonly string[], target: string): Promise<void> {
  // the checker lives with the specs (loaded on demand: most writes of the CLI have no Typesense)
  const { specModelProblems } = await import('@mbsync/search-index/specs');
  const relations = [
    ...model.tables.map((t) => ({ schema: t.schema, name: t.name, columns: t.columns.map((c) => c.name) })),
    ...model.views.map((v) => ({ schema: v.schema, name: v.name, columns: v.columns.map((c) => c.name) })),
  ];
  const problems = specModelProblems(specs, relations, schemas);
  if (problems.length === 0) return;
  throw new JobsError(
    'JOBS_SEARCH_SPEC_MISMATCH',
    `the search index of "${target}" could not be rebuilt from this dump, so nothing was written: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; … (${problems.length} problems)` : ''} (fix TYPESENSE_SPECS_FILE, or skip the reindex)`,
    { details: { problems, environment: target } });
}
