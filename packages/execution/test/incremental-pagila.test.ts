import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSync } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import { createDatabase, pgDumpSchema, psqlFile, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

// The incremental re-sync on a schema we did not write: pagila (pg_dump output, as peers test with) — a partitioned
// payment table, enums, domains, arrays, tsvector, triggers on every table, composite keys.

const PAGILA = new URL('../../../../shared/peers/pagila/', import.meta.url).pathname;

describe('incremental sync on pagila', { timeout: 600_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let target: TestDatabase;
  const sync = () => runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), config, noBackup: true, acceptDataLoss: true, jobs: 2 });

  async function assertIdentical(): Promise<void> {
    assert.equal(pgDumpSchema(target.url), pgDumpSchema(source.url));
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-incremental-pagila-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await createDatabase('incp_src');
    target = await createDatabase('incp_dst');
    psqlFile(source.url, join(PAGILA, 'pagila-schema.sql'));
    psqlFile(source.url, join(PAGILA, 'pagila-data.sql'));
    assert.equal((await sync()).incremental.mode, 'full');
  });

  after(async () => {
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('rows changed across the schema on the source, and one edited in the target: only those move; identical', async () => {
    const [payments] = await source.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM public.payment WHERE payment_id % 97 = 0`;
    psqlText(source.url, `
      UPDATE public.film SET rental_rate = rental_rate + 1, special_features = array_append(special_features, 'Trailers'), rating = 'NC-17' WHERE film_id % 50 = 0;
      UPDATE public.customer SET email = upper(email) WHERE customer_id % 40 = 0;
      INSERT INTO public.actor (first_name, last_name) VALUES ('NEW', 'ACTOR');
      DELETE FROM public.film_actor WHERE (actor_id, film_id) IN (SELECT actor_id, film_id FROM public.film_actor ORDER BY 1, 2 LIMIT 3);
      UPDATE public.rental SET return_date = return_date + interval '1 hour' WHERE rental_id % 100 = 0;
      DELETE FROM public.payment WHERE payment_id % 97 = 0;`);
    psqlText(target.url, `UPDATE public.language SET name = 'Klingon' WHERE language_id = 1;`);
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    const patched = new Map(inc.tables.patched.map((p) => [p.table, p]));
    const [counts] = await source.sql<{ film: number; customer: number; rental: number }[]>`
      SELECT (SELECT count(*)::int FROM public.film WHERE film_id % 50 = 0) AS film, (SELECT count(*)::int FROM public.customer WHERE customer_id % 40 = 0) AS customer,
             (SELECT count(*)::int FROM public.rental WHERE rental_id % 100 = 0 AND return_date IS NOT NULL) AS rental`;
    assert.equal(patched.get('public.film')?.rowsInserted, counts!.film);
    assert.equal(patched.get('public.customer')?.rowsInserted, counts!.customer);
    assert.equal(patched.get('public.rental')?.rowsInserted, counts!.rental);
    assert.deepEqual({ deleted: patched.get('public.actor')?.rowsDeleted, inserted: patched.get('public.actor')?.rowsInserted }, { deleted: 0, inserted: 1 });
    assert.deepEqual({ deleted: patched.get('public.film_actor')?.rowsDeleted, inserted: patched.get('public.film_actor')?.rowsInserted }, { deleted: 3, inserted: 0 });
    assert.deepEqual({ deleted: patched.get('public.language')?.rowsDeleted, inserted: patched.get('public.language')?.rowsInserted }, { deleted: 1, inserted: 1 });
    // payment's partitions are compared and patched each on its own
    const partitions = inc.tables.patched.filter((p) => p.table.startsWith('public.payment_p'));
    assert.ok(partitions.length >= 6, JSON.stringify(inc.tables.patched));
    assert.deepEqual({ deleted: partitions.reduce((n, p) => n + p.rowsDeleted, 0), inserted: partitions.reduce((n, p) => n + p.rowsInserted, 0) }, { deleted: payments!.n, inserted: 0 });
    assert.deepEqual(inc.tables.copied, []);
    assert.ok(inc.tables.skipped.includes('public.category'), JSON.stringify(inc.tables.skipped));
    await assertIdentical();
  });

  test('nothing changed since: nothing is written', async () => {
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.patched, []);
    assert.deepEqual(inc.tables.copied, []);
    await assertIdentical();
  });
});
