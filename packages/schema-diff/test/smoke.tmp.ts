import { createDatabase, psqlFile } from '@mbsync/testkit';
import { introspect } from '../src/index.js';
const db = await createDatabase('smoke');
try {
  psqlFile(db.url, '/work/shared/peers/pagila/pagila-schema.sql');
  const t0 = Date.now();
  const m = await introspect(db.sql);
  console.log('ms', Date.now() - t0);
  console.log(JSON.stringify({ ...m, tables: m.tables.slice(0, 2), routines: m.routines.slice(0,3), views: m.views.slice(0,1) }, null, 1).slice(0, 9000));
  console.log(m.dependencies.length, m.tables.length, m.views.length, m.routines.length);
} finally { await db.drop(); }
