import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { checkTarget, introspect, objectKey, type SchemaModel } from '../src/index.js';

// checkTarget: the one schema check behind validate, `mbsync diff` and the api, on a real server.
describe('checkTarget', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let model: SchemaModel;

  before(async () => {
    [source, target] = await Promise.all([createDatabase('check_src'), createDatabase('check_dst')]);
    await source.sql.unsafe(`CREATE EXTENSION citext; CREATE TABLE public.t (id int PRIMARY KEY, name public.citext);`);
    model = await introspect(source.sql);
  });
  after(async () => {
    await Promise.all([source.drop(), target.drop()]);
  });

  it('an extension the target can install is not a reason to refuse', async () => {
    const check = await checkTarget(target.sql, model);
    assert.equal(check.verdict.replace.allowed, true, check.verdict.replace.reasons.join('; '));
  });

  it('an extension the target\'s server does not have is named before any write, with what uses it and how to leave it out', async () => {
    // the same dump, as if taken from a server with an extension this one lacks (pg_graphql on a plain PostgreSQL)
    const dump: SchemaModel = {
      ...model,
      extensions: [...model.extensions, { name: 'no_such_extension', version: '1.0', schema: 'public' }],
      dependencies: [...model.dependencies, { from: objectKey('relation', 'public', 't'), to: objectKey('extension', 'no_such_extension') }],
    };
    const check = await checkTarget(target.sql, dump);
    assert.equal(check.verdict.replace.allowed, false);
    const reason = check.verdict.replace.reasons.find((r) => r.includes('no_such_extension'));
    assert.match(reason ?? '', /extension no_such_extension \(schema public\) is not available on the target's server; used by "public"\."t"; leave it out with --exclude-schema public/);
  });

  it('roles the copy names that the target lacks refuse a replace, unless the import creates them', async () => {
    const dump: SchemaModel = { ...model, tables: model.tables.map((t) => ({ ...t, owner: 'mbsync_no_such_role' })) };
    const refused = await checkTarget(target.sql, dump, { roles: { owners: true } });
    assert.deepEqual(refused.missingRoles, [{ role: 'mbsync_no_such_role', objects: ['table public.t'] }]);
    assert.equal(refused.verdict.replace.allowed, false);
    assert.match(refused.verdict.replace.reasons.join('\n'), /--create-roles/);
    const created = await checkTarget(target.sql, dump, { roles: { owners: true, create: true } });
    assert.equal(created.verdict.replace.allowed, true);
    assert.match(created.verdict.replace.warnings.join('\n'), /roles created in the target .*mbsync_no_such_role/);
    // without owners copied, the role is not needed
    assert.deepEqual((await checkTarget(target.sql, dump, { roles: { owners: false } })).missingRoles, []);
  });
});
