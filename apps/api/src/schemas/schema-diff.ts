import { Type } from 'typebox';
import { EnvironmentName } from './common.js';

export const SchemaDiffQuery = Type.Object(
  {
    from: EnvironmentName,
    to: EnvironmentName,
    schemas: Type.Optional(Type.String({ pattern: '^[^,]+(,[^,]+)*$', maxLength: 2000, description: 'comma-separated schema names to read from `from` (default: every non-managed schema); `to` is read for the schemas `from` has' })),
  },
  { additionalProperties: false },
);

const ModeVerdict = Type.Object({
  allowed: Type.Boolean(),
  needsConfirmation: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  warnings: Type.Array(Type.String()),
});

const SchemaChange = Type.Object({
  objectType: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed')], { description: 'added: only in `to`; removed: only in `from`' }),
  detail: Type.Optional(Type.String()),
  severity: Type.Object({ replace: Type.String(), 'data-only': Type.String() }),
  table: Type.Optional(Type.String()),
  refusesReplace: Type.Optional(Type.String()),
});

const Dependent = Type.Object({
  object: Type.String({ description: 'the object, as PostgreSQL describes it (e.g. `view reporting.item_names`)' }),
  kind: Type.String(),
  recreated: Type.Boolean({ description: 'true: recreated after the replace; false: dropped with it (needs confirmation)' }),
  reason: Type.Optional(Type.String()),
});

export const SchemaDiffResult = Type.Object({
  from: Type.String(),
  to: Type.String(),
  changes: Type.Array(SchemaChange),
  verdict: Type.Object({
    replace: ModeVerdict, 'data-only': ModeVerdict, missingExtensions: Type.Array(Type.String()),
    dependents: Type.Array(Dependent, { description: 'objects of `to` outside the replaced schemas that depend on them' }),
    missingRoles: Type.Array(Type.Object({ role: Type.String(), objects: Type.Array(Type.String()) }), { description: 'roles the copy needs that `to` lacks' }),
  }),
  targetRowCounts: Type.Record(Type.String(), Type.Number()),
  report: Type.String({ description: 'the human-readable report (as the CLI prints it)' }),
});
