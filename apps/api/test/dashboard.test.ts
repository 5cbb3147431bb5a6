/// <reference lib="dom" />
// ^ only for the code page.evaluate/waitForFunction run inside Chromium (document, window…)
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDatabase, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import type { Locator, Page } from 'playwright-core';
import { API_KEY, TEST_REDIS_URL, buildTestApp, dropPrefix, testDirectories, testEnv, testPrefix, type TestDirectories } from './support/app.js';
import { browserSkipReason, launchBrowser, type TestBrowser } from './support/browser.js';
import { freePort, startService, type ChildService } from './support/processes.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** DASHBOARD_SCREENSHOT=docs/dashboard.png writes a desktop screenshot mid-sync (path from the repository root). */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT;
const SCREENSHOT_MOBILE = process.env.DASHBOARD_SCREENSHOT_MOBILE;

describe('dashboard assets (no browser)', () => {
  test('the page and its assets are open, typed, revalidated and under a strict CSP; nothing else is reachable', async (t) => {
    const dirs = await testDirectories();
    t.after(() => dirs.remove());
    const app = await buildTestApp(t, testEnv({ prefix: testPrefix('dash-assets'), ...dirs }));

    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval') && !csp.includes('upgrade-insecure-requests'), csp);
    assert.ok(page.body.includes('/assets/dashboard.js'));
    assert.ok(!/<script>|\son\w+=|style=/.test(page.body), 'no inline script, handler or style');

    const js = await app.inject({ method: 'GET', url: '/assets/dashboard.js' });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    const revalidated = await app.inject({ method: 'GET', url: '/assets/dashboard.js', headers: { 'if-none-match': String(js.headers.etag) } });
    assert.equal(revalidated.statusCode, 304);
    assert.equal((await app.inject({ method: 'GET', url: '/assets/dashboard.css' })).headers['content-type'], 'text/css; charset=utf-8');

    for (const url of ['/assets/nope.js', '/assets/..%2Fpackage.json', '/assets/%2E%2E%2F%2E%2E%2Fsrc%2Fconfig.ts', '/assets/index.html', '/assets/__proto__']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'API_NOT_FOUND', url);
    }
    // the rest stays behind the key
    assert.equal((await app.inject({ method: 'GET', url: '/assets/../api/environments' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/api/environments' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/public/index.html' })).statusCode, 401);
  });
});

const skip = browserSkipReason();
if (skip) console.log(`# dashboard browser tests skipped: ${skip}`);

/** Rows in the source's big table: a sync takes a few seconds, long enough to watch and to cancel mid-copy. */
const SOURCE_ROWS = 1_000_000;
/** "1,000,010": the big table and the 10 kinds, as the page prints counts */
const ROWS_SHOWN = (SOURCE_ROWS + 10).toLocaleString('en-US');

/** A source big enough that a sync takes a few seconds (rows generated server-side). */
async function createDatabases(): Promise<[TestDatabase, TestDatabase, TestDatabase]> {
  const [source, local, staging] = await Promise.all([createDatabase('api_dash_src'), createDatabase('api_dash_local'), createDatabase('api_dash_staging')]);
  await source.sql.unsafe(`
    CREATE TABLE public.kinds (id int PRIMARY KEY, label text NOT NULL);
    INSERT INTO public.kinds SELECT k, 'kind ' || k FROM generate_series(1, 10) k;
    CREATE TABLE public.items (
      id bigint PRIMARY KEY,
      kind int NOT NULL REFERENCES public.kinds(id),
      name text NOT NULL,
      note text,
      created timestamptz NOT NULL
    );
    INSERT INTO public.items
      SELECT i, 1 + i % 10, 'item ' || i, repeat(md5(i::text), 2), timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second'
      FROM generate_series(1, ${SOURCE_ROWS}) i;
    ANALYZE;`);
  return [source, local, staging];
}

describe('dashboard in headless Chromium against real api and worker processes', { skip, timeout: 300_000 }, () => {
  let source: TestDatabase;
  let local: TestDatabase;
  let staging: TestDatabase;
  let dirs: TestDirectories;
  let api: ChildService;
  let worker: ChildService;
  let browser: TestBrowser;
  let page: Page;
  let apiEnv: Record<string, string>;
  const prefix = testPrefix('dashboard');
  const pageErrors: string[] = [];

  const startApi = async () => {
    api = startService('apps/api/src/main.ts', apiEnv);
    await api.waitForLog((l) => /^Server listening at/.test(l.msg ?? ''));
  };

  before(async () => {
    [source, local, staging] = await createDatabases();
    dirs = await testDirectories();
    const port = await freePort();
    const shared = {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      DUMP_DIRECTORY: dirs.dumps,
      BACKUP_DIRECTORY: dirs.backups,
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: local.url,
      STAGING_DATABASE_URL: staging.url,
      ALLOW_PROTECTED_TARGETS: 'true',
      LOG_LEVEL: 'info',
    };
    worker = startService('apps/worker/src/main.ts', {
      ...shared,
      WORKER_SHUTDOWN_GRACE_MS: '1000',
      WORKER_CANCEL_POLL_MS: '300',
      WORKER_LOCK_DURATION_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_PROGRESS_INTERVAL_MS: '100',
    });
    apiEnv = { ...shared, API_KEYS: API_KEY, PORT: String(port), HOST: '127.0.0.1', API_SHUTDOWN_GRACE_MS: '2000', RATE_LIMIT_MAX: '1000' };
    await Promise.all([worker.waitForLog((l) => l.msg === 'worker ready'), startApi()]);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${port}/`);
  });

  after(async () => {
    if (process.env.DASHBOARD_DEBUG) console.log(worker.logs.map((l) => JSON.stringify(l)).join('\n'), worker.stderr());
    await browser?.close();
    await Promise.all([api?.kill(), worker?.kill()]);
    await dropPrefix(prefix);
    await Promise.all([source?.drop(), local?.drop(), staging?.drop(), dirs?.remove()]);
  });

  /** The card of the newest job not in `known`, once it appears. */
  async function newJobCard(known: Set<string>): Promise<{ id: string; card: Locator }> {
    const handle = await page.waitForFunction((ids) => {
      const card = [...document.querySelectorAll<HTMLElement>('li.job')].find((c) => !ids.includes(c.dataset.jobId!));
      return card?.dataset.jobId ?? null;
    }, [...known]);
    const id = (await handle.jsonValue()) as string;
    return { id, card: page.locator(`li.job[data-job-id="${id}"]`) };
  }

  const jobIds = async () => new Set(await page.locator('li.job').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.jobId!)));

  /** Holds a lock on `db`'s items table, so a sync reading (ACCESS EXCLUSIVE) or replacing it (SHARE) waits until release(). */
  async function holdLock(db: TestDatabase, mode: 'ACCESS EXCLUSIVE' | 'SHARE'): Promise<{ release(): Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const taken = new Promise<void>((r) => (locked = r));
    const tx = db.sql.begin(async (sql) => {
      await sql.unsafe(`LOCK TABLE public.items IN ${mode} MODE`);
      locked();
      await held;
    });
    await taken;
    return { release: async () => (release(), await tx) };
  }

  async function startSyncFromForm(to: string, options: { acceptDataLoss?: boolean } = {}): Promise<void> {
    await page.getByLabel('Job', { exact: true }).selectOption('sync');
    await page.getByLabel('Source', { exact: true }).selectOption('source');
    await page.getByLabel('Target', { exact: true }).selectOption(to);
    await page.locator('#job-form').getByLabel(/accept data loss/).setChecked(options.acceptDataLoss ?? false);
    await page.getByRole('button', { name: 'Start' }).click();
  }

  test('enter the key, start a sync from the form: the bar moves to 100 % and the job lands in the history; target equals source', async () => {
    // the key is asked once and kept in sessionStorage only
    await page.getByLabel(/^Key/).fill(API_KEY);
    await page.getByRole('button', { name: 'Use key' }).click();
    const environments = page.locator('#environments');
    await environments.getByText('staging').waitFor();
    const names = await environments.locator('.env-name').allTextContents();
    for (const name of ['local', 'source', 'staging']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    const environment = (name: string) => environments.locator('li').filter({ has: page.locator('.env-name', { hasText: new RegExp(`^${name}$`) }) });
    assert.equal(await environment('staging').locator('.badge.protected').count(), 1);
    assert.equal(await environment('local').locator('.badge.protected').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mbsync.apiKey')), API_KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.locator('#connection[data-state="live"]').waitFor();

    // schema diff for the pair before the sync
    await page.getByLabel('Source', { exact: true }).selectOption('source');
    await page.getByLabel('Target', { exact: true }).selectOption('local');
    await page.getByRole('button', { name: 'Compare schemas' }).click();
    await page.locator('#diff-summary', { hasText: 'source → local' }).filter({ hasText: 'difference' }).waitFor();
    assert.match(await page.locator('#diff-report').textContent() ?? '', /items/);

    // record every value the job's bar shows, as the user sees it
    await page.evaluate(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { seen: typeof seen }).seen = seen;
      setInterval(() => {
        for (const card of document.querySelectorAll<HTMLElement>('li.job')) {
          const value = card.querySelector('progress')!.value;
          const values = (seen[card.dataset.jobId!] ??= []);
          if (values.at(-1) !== value) values.push(value);
        }
      }, 20);
    });
    const known = await jobIds();
    await startSyncFromForm('local');
    const { id, card } = await newJobCard(known);
    await page.locator('#running').locator(`li[data-job-id="${id}"]`).waitFor();
    await card.locator('.job-title', { hasText: /^sync #\d+ · source → local$/ }).waitFor();

    // mid-sync: phase, table, rows, bytes, rate and ETA are shown
    await page.waitForFunction((jobId) => {
      const bar = document.querySelector<HTMLProgressElement>(`li[data-job-id="${jobId}"] progress`);
      return bar !== null && bar.value > 5 && bar.value < 100;
    }, id);
    const stats = await page.locator(`#running li[data-job-id="${id}"] .stats`).textContent();
    assert.match(stats ?? '', /phase/);
    assert.match(stats ?? '', /rows/);
    assert.match(stats ?? '', /bytes/);
    assert.match(stats ?? '', /rate/);
    assert.match(stats ?? '', /ETA/);
    // for the screenshot: the import phase, with rows, bytes and a rate (it may be over quickly)
    await page.waitForFunction((jobId) => {
      const card = document.querySelector(`li[data-job-id="${jobId}"]`);
      const bar = card?.querySelector('progress');
      return !bar || bar.value >= 100 || (bar.value > 62 && /rate\d/.test(card!.querySelector('.stats')!.textContent ?? ''));
    }, id, { polling: 20 }).catch(() => undefined);
    if (SCREENSHOT) {
      const path = resolve(REPO_ROOT, SCREENSHOT);
      await mkdir(dirname(path), { recursive: true });
      await page.screenshot({ path, fullPage: true });
    }

    const done = page.locator('#history').locator(`li[data-job-id="${id}"][data-state="completed"]`);
    await done.waitFor({ timeout: 90_000 });
    assert.equal(await done.locator('progress').evaluate((p) => (p as HTMLProgressElement).value), 100);
    assert.equal(await done.locator('progress').getAttribute('aria-valuetext'), '100 %');
    assert.match(await done.locator('.stats').textContent() ?? '', new RegExp(`imported${ROWS_SHOWN} rows, 2 tables \\(replace\\)`));
    assert.match(await page.locator('#announcer').textContent() ?? '', new RegExp(`sync #${id} .*completed`));

    const seen = await page.evaluate((jobId) => (window as unknown as { seen: Record<string, number[]> }).seen[jobId] ?? [], id);
    const moving = seen.filter((v) => v > 0 && v < 100);
    assert.ok(moving.length >= 3, `the bar moved through ${moving.length} values only: ${seen.join(', ')}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `the bar went back: ${seen.join(', ')}`);
    assert.equal(seen.at(-1), 100);

    assert.deepEqual(await snapshotDatabase(local.sql), await snapshotDatabase(source.sql));
    assert.deepEqual(pageErrors, []);
  });

  test('cancel a running job with its button: it shows as cancelled', async () => {
    // cancelled mid-copy: rows are streaming into the target (a parallel sync's lanes load while the backup runs)
    {
      const known = await jobIds();
      await startSyncFromForm('local', { acceptDataLoss: true });
      const { id, card } = await newJobCard(known);
      await page.locator(`#running li[data-job-id="${id}"][data-state="active"] .stats`, { hasText: /phase(backup|import)/ }).waitFor();
      const cancel = card.getByRole('button', { name: `Cancel sync #${id}` });
      await cancel.focus();
      await page.keyboard.press('Enter');
      const cancelled = page.locator(`#history li[data-job-id="${id}"][data-state="cancelled"]`);
      await cancelled.waitFor({ timeout: 30_000 });
      assert.match(await cancelled.locator('.job-error').textContent() ?? '', /CANCELLED/);
      assert.equal(await cancelled.getByRole('button', { name: /Cancel/ }).count(), 0);
    }
    assert.deepEqual(await snapshotDatabase(local.sql), await snapshotDatabase(source.sql), 'the cancelled sync changed nothing');
  });

  test('retry a cancelled job with its button: a new job with the same payload runs, and the old card links to it', async () => {
    // a sync cancelled mid-copy, as in the test before
    const known = await jobIds();
    await startSyncFromForm('local', { acceptDataLoss: true });
    const { id } = await newJobCard(known);
    await page.locator(`#running li[data-job-id="${id}"][data-state="active"] .stats`, { hasText: /phase(backup|import)/ }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: `Cancel sync #${id}` }).click();
    await page.locator(`#history li[data-job-id="${id}"][data-state="cancelled"]`).waitFor({ timeout: 60_000 });
    const before = await jobIds();
    const retry = page.getByRole('button', { name: `Retry sync #${id}` });
    await retry.focus();
    await page.keyboard.press('Enter');
    const rerun = await newJobCard(before);
    assert.match(await rerun.card.locator('.job-title').textContent() ?? '', /source → local$/);
    await page.locator(`#history li[data-job-id="${rerun.id}"][data-state="completed"]`).waitFor({ timeout: 90_000 });
    assert.match(await rerun.card.locator('.stats').textContent() ?? '', new RegExp(`retry of#${id}`));
    // the old card now says where it went, and offers no second retry
    const old = page.locator(`#history li[data-job-id="${id}"]`);
    await old.locator('.job-actions', { hasText: `retried as #${rerun.id}` }).waitFor();
    assert.equal(await old.getByRole('button', { name: /^Retry/ }).count(), 0);
    assert.match(await page.locator('#announcer').textContent() ?? '', /completed/);
    assert.deepEqual(await snapshotDatabase(local.sql), await snapshotDatabase(source.sql));
    assert.deepEqual(pageErrors, []);
  });

  test('the api restarts: the page reconnects by itself and shows the current state of the job', async () => {
    const lock = await holdLock(source, 'ACCESS EXCLUSIVE');
    let id: string;
    try {
      const known = await jobIds();
      await startSyncFromForm('local', { acceptDataLoss: true });
      ({ id } = await newJobCard(known));
      await page.locator(`#running li[data-job-id="${id}"][data-state="active"]`).waitFor();

      await api.kill();
      await page.locator('#connection[data-state="reconnecting"]').waitFor();
    } finally {
      await lock.release();
    }
    // the job finishes while no api runs: the page must catch up once it is back
    await worker.waitForLog((l) => l.jobId === id && l.msg === 'job completed', 90_000);
    assert.equal(await page.locator(`#running li[data-job-id="${id}"]`).count(), 1, 'still shown as running while the api is down');

    await startApi();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 });
    const done = page.locator(`#history li[data-job-id="${id}"][data-state="completed"]`);
    await done.waitFor({ timeout: 15_000 });
    assert.match(await done.locator('.stats').textContent() ?? '', new RegExp(`imported${ROWS_SHOWN} rows`));
    assert.deepEqual(pageErrors, []);

    // and it is live again: the next job is followed over the new socket
    const known = await jobIds();
    await page.getByLabel('Job', { exact: true }).selectOption('export');
    await page.getByLabel('Source', { exact: true }).selectOption('source');
    await page.getByRole('button', { name: 'Start' }).click();
    const next = await newJobCard(known);
    await page.locator(`#history li[data-job-id="${next.id}"][data-state="completed"]`).waitFor({ timeout: 60_000 });
    assert.match(await next.card.locator('.stats').textContent() ?? '', new RegExp(`exported${ROWS_SHOWN} rows, 2 tables`));
  });

  test('a protected target is refused until its name is typed to confirm', async () => {
    await page.getByLabel('Job', { exact: true }).selectOption('sync');
    await page.getByLabel('Source', { exact: true }).selectOption('source');
    await page.getByLabel('Target', { exact: true }).selectOption('staging');
    const confirm = page.getByLabel('Type staging to confirm');
    await confirm.waitFor();
    const known = await jobIds();

    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('#form-error', { hasText: 'JOBS_CONFIRMATION_REQUIRED' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'job-confirm', 'focus moves to the confirmation field');

    await confirm.fill('local');
    await page.keyboard.press('Enter');
    await page.locator('#form-error', { hasText: 'JOBS_CONFIRMATION_REQUIRED' }).waitFor();
    assert.deepEqual(await jobIds(), known, 'nothing was started');

    await confirm.fill('staging');
    await page.keyboard.press('Enter');
    const { id, card } = await newJobCard(known);
    assert.equal(await page.locator('#form-error').textContent(), '');
    assert.match(await card.locator('.job-title').textContent() ?? '', /source → staging/);
    await page.locator(`#history li[data-job-id="${id}"][data-state="completed"]`).waitFor({ timeout: 90_000 });
    assert.deepEqual(await snapshotDatabase(staging.sql), await snapshotDatabase(source.sql));
  });

  test('phone width (375 px): no horizontal scroll, everything reachable', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByLabel('Job', { exact: true }).selectOption('sync');
    await page.getByLabel('Target', { exact: true }).selectOption('staging');
    await page.waitForTimeout(100);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(widths.scroll <= 375, `page is ${widths.scroll}px wide`);
    if (SCREENSHOT_MOBILE) await page.screenshot({ path: resolve(REPO_ROOT, SCREENSHOT_MOBILE), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
