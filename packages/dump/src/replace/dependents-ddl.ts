import type { Dependent } from '@mbsync/schema-diff';
import { grantStatements } from '../ddl/privileges.js';
import { renderPolicy } from '../ddl/post-data.js';
import { qualify, quoteIdent, quoteLiteral } from '../ddl/quote.js';

const TRIGGER_STATE: Record<string, string | null> = { O: null, D: 'DISABLE TRIGGER', R: 'ENABLE REPLICA TRIGGER', A: 'ENABLE ALWAYS TRIGGER' };
const EVENT_TRIGGER_STATE: Record<string, string | null> = { O: null, D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

function withSemicolon(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.endsWith(';') ? trimmed : `${trimmed};`;
}

/** `schema.table` (unquoted, as Dependent.table holds it) quoted for DDL. */
function tableName(table: string | undefined): string {
  const dot = (table ?? '').indexOf('.');
  return qualify(table!.slice(0, dot), table!.slice(dot + 1));
}

function commentOn(target: string, comment: string | null | undefined): string[] {
  return comment === undefined || comment === null ? [] : [`COMMENT ON ${target} IS ${quoteLiteral(comment)};`];
}

function ownedStatements(kind: string, d: Dependent): string[] {
  const target = `${kind} ${d.identity}`;
  return [
    ...(d.owner ? [`ALTER ${target} OWNER TO ${quoteIdent(d.owner)};`] : []),
    ...(d.owner && d.acl !== undefined ? grantStatements(kind === 'MATERIALIZED VIEW' || kind === 'VIEW' ? `TABLE ${d.identity}` : target, { owner: d.owner, acl: d.acl ?? null }) : []),
    ...commentOn(target, d.comment),
  ];
}

/**
 * The statements that recreate a dependent after the schemas it depends on were replaced, from the definition the
 * target's server deparsed before the drop. Empty for kinds that cannot be recreated (they hold rows, or are not
 * captured): the replace reports those as lost.
 */
export function renderDependent(d: Dependent): string[] {
  switch (d.kind) {
    case 'view':
    case 'materialized view': {
      if (d.definition === null) return [];
      const materialized = d.kind === 'materialized view';
      const options = d.reloptions && d.reloptions.length > 0 ? ` WITH (${d.reloptions.join(', ')})` : '';
      const kind = materialized ? 'MATERIALIZED VIEW' : 'VIEW';
      return [
        `CREATE ${kind} ${d.identity}${options} AS\n${d.definition}${materialized ? '\n  WITH NO DATA' : ''};`,
        ...ownedStatements(kind, d),
        ...(d.columnComments ?? []).flatMap((c) => commentOn(`COLUMN ${d.identity}.${quoteIdent(c.column)}`, c.comment)),
        ...(materialized && d.populated ? [`REFRESH MATERIALIZED VIEW ${d.identity};`] : []),
      ];
    }
    case 'function':
      return d.definition === null ? [] : [withSemicolon(d.definition), ...ownedStatements('FUNCTION', d)];
    case 'column default':
      return d.definition === null ? [] : [`ALTER TABLE ${tableName(d.table)} ALTER COLUMN ${quoteIdent(d.name)} SET DEFAULT ${d.definition};`];
    case 'constraint':
    case 'foreign key':
      return d.definition === null ? [] : [
        `ALTER TABLE ${tableName(d.table)} ADD CONSTRAINT ${quoteIdent(d.name)} ${d.definition};`,
        ...commentOn(`CONSTRAINT ${quoteIdent(d.name)} ON ${tableName(d.table)}`, d.comment),
      ];
    case 'index':
      return d.definition === null ? [] : [withSemicolon(d.definition), ...commentOn(`INDEX ${d.identity}`, d.comment)];
    case 'trigger': {
      if (d.definition === null) return [];
      const state = TRIGGER_STATE[d.enabled ?? 'O'];
      return [
        withSemicolon(d.definition),
        ...(state ? [`ALTER TABLE ${tableName(d.table)} ${state} ${quoteIdent(d.name)};`] : []),
        ...commentOn(`TRIGGER ${quoteIdent(d.name)} ON ${tableName(d.table)}`, d.comment),
      ];
    }
    case 'rule':
      return d.definition === null ? [] : [withSemicolon(d.definition), ...commentOn(`RULE ${quoteIdent(d.name)} ON ${tableName(d.table)}`, d.comment)];
    case 'policy': {
      if (!d.policy) return [];
      const p = d.policy;
      return [
        renderPolicy(tableName(d.table), {
          name: d.name, permissive: p.permissive, command: p.command as 'ALL', roles: p.roles,
          ...(p.using === null ? {} : { using: p.using }), ...(p.withCheck === null ? {} : { withCheck: p.withCheck }),
        }),
        ...commentOn(`POLICY ${quoteIdent(d.name)} ON ${tableName(d.table)}`, d.comment),
      ];
    }
    case 'publication table': {
      if (!d.publication || d.table === undefined) return [];
      const columns = d.publication.columns ? ` (${d.publication.columns.map(quoteIdent).join(', ')})` : '';
      const filter = d.publication.rowFilter ? ` WHERE (${d.publication.rowFilter})` : '';
      return [`ALTER PUBLICATION ${quoteIdent(d.publication.name)} ADD TABLE ONLY ${tableName(d.table)}${columns}${filter};`];
    }
    case 'publication schema':
      return d.publication?.schema ? [`ALTER PUBLICATION ${quoteIdent(d.publication.name)} ADD TABLES IN SCHEMA ${quoteIdent(d.publication.schema)};`] : [];
    case 'event trigger': {
      if (!d.event) return [];
      const tags = d.event.tags ? `\n    WHEN TAG IN (${d.event.tags.map(quoteLiteral).join(', ')})` : '';
      const state = EVENT_TRIGGER_STATE[d.enabled ?? 'O'];
      return [
        `CREATE EVENT TRIGGER ${quoteIdent(d.name)} ON ${d.event.event}${tags}\n    EXECUTE FUNCTION ${d.event.function}();`,
        ...(state ? [`ALTER EVENT TRIGGER ${quoteIdent(d.name)} ${state};`] : []),
        ...(d.owner ? [`ALTER EVENT TRIGGER ${quoteIdent(d.name)} OWNER TO ${quoteIdent(d.owner)};`] : []),
        ...commentOn(`EVENT TRIGGER ${quoteIdent(d.name)}`, d.comment),
      ];
    }
    default:
      return [];
  }
}
