import type { DiffCase } from './case.js';
import { ok } from './case.js';

const TRIGGER_FUNCTION = `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;`;

/** Constraints, indexes, triggers, rules, policies and row level security. */
export const partCases: DiffCase[] = [
  {
    name: 'a constraint only on the target warns, one only in the dump is fine',
    before: `CREATE TABLE t (id int, qty int, CONSTRAINT t_id_key UNIQUE (id));`,
    after: `CREATE TABLE t (id int, qty int CONSTRAINT qty_positive CHECK (qty > 0));`,
    expect: [
      { objectType: 'constraint', name: 'public.t.qty_positive', kind: 'added', severity: { replace: 'warning', 'data-only': 'warning' } },
      { objectType: 'constraint', name: 'public.t.t_id_key', kind: 'removed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'a changed check constraint warns',
    before: `CREATE TABLE t (qty int CONSTRAINT qty_check CHECK (qty > 0));`,
    after: `CREATE TABLE t (qty int CONSTRAINT qty_check CHECK (qty >= 10));`,
    expect: [{ objectType: 'constraint', name: 'public.t.qty_check', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' }, detail: /CHECK \(\(qty > 0\)\) → CHECK \(\(qty >= 10\)\)/ }],
    dataOnly: true,
  },
  {
    name: 'a primary key on other columns is one changed constraint',
    before: `CREATE TABLE t (id int PRIMARY KEY, sku text NOT NULL);`,
    after: `CREATE TABLE t (id int NOT NULL, sku text PRIMARY KEY);`,
    expect: [{ objectType: 'constraint', name: 'public.t.t_pkey', kind: 'changed', severity: { 'data-only': 'warning' }, detail: /PRIMARY KEY \(id\) → PRIMARY KEY \(sku\)/ }],
    dataOnly: true,
  },
  {
    name: 'a foreign key only on the target warns',
    before: `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int, a_id int);`,
    after: `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int, a_id int REFERENCES a);`,
    expect: [{ objectType: 'constraint', name: 'public.b.b_a_id_fkey', kind: 'added', severity: { replace: 'warning', 'data-only': 'warning' } }],
    dataOnly: true,
  },
  {
    name: 'plain and unique indexes',
    before: `CREATE TABLE t (a int, b int); CREATE INDEX t_a_idx ON t (a);`,
    after: `CREATE TABLE t (a int, b int); CREATE INDEX t_b_idx ON t (b); CREATE UNIQUE INDEX t_ab_key ON t (a, b);`,
    expect: [
      { objectType: 'index', name: 'public.t.t_a_idx', kind: 'removed', severity: ok },
      { objectType: 'index', name: 'public.t.t_ab_key', kind: 'added', severity: { replace: 'warning', 'data-only': 'warning' } },
      { objectType: 'index', name: 'public.t.t_b_idx', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
    ],
    dataOnly: true,
  },
  {
    name: 'an index definition change',
    before: `CREATE TABLE t (a int, b int); CREATE INDEX t_idx ON t (a); CREATE INDEX t_part ON t (b) WHERE b > 0;`,
    after: `CREATE TABLE t (a int, b int); CREATE INDEX t_idx ON t (a, b); CREATE INDEX t_part ON t (b);`,
    expect: [
      { objectType: 'index', name: 'public.t.t_idx', kind: 'changed', severity: ok },
      { objectType: 'index', name: 'public.t.t_part', kind: 'changed', severity: ok, detail: /WHERE/ },
    ],
    dataOnly: true,
  },
  {
    name: 'triggers: changed timing, disabled, only on the target',
    before: `${TRIGGER_FUNCTION} CREATE TABLE t (a int);
      CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE TRIGGER quiet BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();`,
    after: `${TRIGGER_FUNCTION} CREATE TABLE t (a int);
      CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE TRIGGER quiet BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch(); ALTER TABLE t DISABLE TRIGGER quiet;
      CREATE TRIGGER extra BEFORE DELETE ON t FOR EACH ROW EXECUTE FUNCTION touch();`,
    expect: [
      { objectType: 'trigger', name: 'public.t.extra', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
      { objectType: 'trigger', name: 'public.t.quiet', kind: 'changed', severity: ok, detail: /enabled O → D/ },
      { objectType: 'trigger', name: 'public.t.trg', kind: 'changed', severity: ok, detail: /AFTER INSERT/ },
    ],
    dataOnly: true,
  },
  {
    name: 'a policy and row level security only on the target',
    before: `CREATE TABLE t (owner text);`,
    after: `CREATE TABLE t (owner text); ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY own ON t USING (owner = current_user);`,
    expect: [
      { objectType: 'policy', name: 'public.t.own', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
      { objectType: 'rls', name: 'public.t', kind: 'changed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'forced row level security on the target warns; changed policy',
    before: `CREATE TABLE t (owner text); ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (true);`,
    after: `CREATE TABLE t (owner text); ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
      CREATE POLICY p ON t FOR SELECT USING (owner = current_user);`,
    expect: [
      { objectType: 'policy', name: 'public.t.p', kind: 'changed', severity: ok, detail: /command ALL → SELECT; USING true → / },
      { objectType: 'rls', name: 'public.t', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' } },
    ],
    dataOnly: true,
  },
  {
    name: 'a rule only on the target',
    before: `CREATE TABLE t (a int);`,
    after: `CREATE TABLE t (a int); CREATE RULE no_delete AS ON DELETE TO t DO INSTEAD NOTHING;`,
    expect: [{ objectType: 'rule', name: 'public.t.no_delete', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } }],
    dataOnly: true,
  },
];
