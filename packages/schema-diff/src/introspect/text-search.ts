import type postgres from 'postgres';
import type { TextSearchConfiguration, TextSearchDictionary, TextSearchParser, TextSearchTemplate } from '../catalog-objects.js';
import { fromSelected, qualifiedName } from './catalog-sql.js';
import { byName, optional } from './rows.js';

/** Text search parsers, templates, dictionaries and configurations (with their token mappings) of the selected schemas. */
export async function readTextSearch(tx: postgres.TransactionSql, schemas: string[]): Promise<{
  textSearchParsers: TextSearchParser[]; textSearchTemplates: TextSearchTemplate[];
  textSearchDictionaries: TextSearchDictionary[]; textSearchConfigurations: TextSearchConfiguration[];
}> {
  // regproc text: unqualified for pg_catalog's functions (the empty search_path still searches pg_catalog)
  const parsersQuery = tx.unsafe<{ schema: string; name: string; start: string; get_token: string; end: string; headline: string | null;
    lex_types: string; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.prsname AS name, o.prsstart::pg_catalog.regproc::text AS start,
      o.prstoken::pg_catalog.regproc::text AS get_token, o.prsend::pg_catalog.regproc::text AS end,
      CASE WHEN o.prsheadline <> 0 THEN o.prsheadline::pg_catalog.regproc::text END AS headline,
      o.prslextype::pg_catalog.regproc::text AS lex_types, d.description AS comment
    ${fromSelected('pg_ts_parser', 'prsnamespace')}`, [schemas]);

  const templatesQuery = tx.unsafe<{ schema: string; name: string; init: string | null; lexize: string; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.tmplname AS name, CASE WHEN o.tmplinit <> 0 THEN o.tmplinit::pg_catalog.regproc::text END AS init,
      o.tmpllexize::pg_catalog.regproc::text AS lexize, d.description AS comment
    ${fromSelected('pg_ts_template', 'tmplnamespace')}`, [schemas]);

  const dictionariesQuery = tx.unsafe<{ schema: string; name: string; owner: string; template: string; options: string | null; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.dictname AS name, pg_catalog.pg_get_userbyid(o.dictowner) AS owner,
      (SELECT ${qualifiedName('tn.nspname', 't.tmplname')} FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace
        WHERE t.oid = o.dicttemplate) AS template,
      o.dictinitoption AS options, d.description AS comment
    ${fromSelected('pg_ts_dict', 'dictnamespace')}`, [schemas]);

  // one mapping per token type, its dictionaries in mapseqno order (regdictionary text: qualified outside pg_catalog)
  const configurationsQuery = tx.unsafe<{ schema: string; name: string; owner: string; parser: string; comment: string | null;
    mappings: { token: string; dictionaries: string[] }[] }[]>(`
    SELECT n.nspname AS schema, o.cfgname AS name, pg_catalog.pg_get_userbyid(o.cfgowner) AS owner,
      (SELECT ${qualifiedName('pn.nspname', 'p.prsname')} FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace
        WHERE p.oid = o.cfgparser) AS parser,
      COALESCE((SELECT json_agg(json_build_object('token', m.token, 'dictionaries', m.dictionaries) ORDER BY m.tokid)
        FROM (SELECT mm.maptokentype AS tokid,
            (SELECT t.alias FROM pg_catalog.ts_token_type(o.cfgparser) t WHERE t.tokid = mm.maptokentype) AS token,
            array_agg(mm.mapdict::pg_catalog.regdictionary::text ORDER BY mm.mapseqno) AS dictionaries
          FROM pg_catalog.pg_ts_config_map mm WHERE mm.mapcfg = o.oid GROUP BY mm.maptokentype) m), '[]') AS mappings,
      d.description AS comment
    ${fromSelected('pg_ts_config', 'cfgnamespace')}`, [schemas]);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [parsers, templates, dictionaries, configurations] = await Promise.all([parsersQuery, templatesQuery, dictionariesQuery, configurationsQuery]);

  return {
    textSearchParsers: parsers.map((r): TextSearchParser => ({
      schema: r.schema, name: r.name, start: r.start, getToken: r.get_token, end: r.end, ...optional('headline', r.headline),
      lexTypes: r.lex_types, ...optional('comment', r.comment),
    })).sort(byName),
    textSearchTemplates: templates.map((r): TextSearchTemplate => ({
      schema: r.schema, name: r.name, ...optional('init', r.init), lexize: r.lexize, ...optional('comment', r.comment),
    })).sort(byName),
    textSearchDictionaries: dictionaries.map((r): TextSearchDictionary => ({
      schema: r.schema, name: r.name, owner: r.owner, template: r.template, ...optional('options', r.options), ...optional('comment', r.comment),
    })).sort(byName),
    textSearchConfigurations: configurations.map((r): TextSearchConfiguration => ({
      schema: r.schema, name: r.name, owner: r.owner, parser: r.parser,
      mappings: r.mappings.map((m) => ({ token: m.token, dictionaries: m.dictionaries })), ...optional('comment', r.comment),
    })).sort(byName),
  };
}
