// Bad-input corpus, api: wrong payloads, unknown environments, protected targets, path traversal, oversized
// bodies and WebSocket messages, wrong API keys at a high rate. Every request gets the one error shape with a
// code and a message naming what is wrong, never a credential; nothing is enqueued, no file is written, the
// databases are untouched and the server keeps serving. Cases that routes.test.ts, ws.test.ts and
// security.test.ts already cover are listed in docs/reliability.md, not repeated here.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DUMP_FORMAT_VERSION } from '@mbsync/dump';
import { createDatabase, databaseUrl, snapshotDatabase, type DatabaseSnapshot, type TestDatabase } from '@mbsync/testkit';
import type { FastifyInstance } from 'fastify';
import { failureCounter } from '../../src/plugins/auth.js';
import { API_KEY, AUTH, createTestApp, dropPrefix, testDirectories, testEnv, testPrefix, type TestDirectories } from '../support/app.js';
import { connectWs, type RawSocket, type WsClient } from '../support/ws-client.js';

/** Made-up credentials: no answer may show them (loopback trust auth ignores the password). */
const FAKE_PASSWORD = `pw-${'bad-requests'}`;
const WRONG_KEY = `wrong-${'k'.repeat(40)}`;

interface HttpCase {
  name: string;
  method?: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** an object is sent as JSON; a string as is with `contentType` */
  payload?: unknown;
  contentType?: string;
  status: number;
  code: string;
  /** details.field, also the start of the message */
  field?: string;
  message?: RegExp;
}

const BACKUP_ID = 'local-20240101T000000000Z.sql.gz';

describe('bad input corpus: api', { timeout: 120_000 }, () => {
  let app: FastifyInstance;
  let dirs: TestDirectories;
  let local: TestDatabase;
  let other: TestDatabase;
  let base: string;
  const prefix = testPrefix('bad-input');
  const sockets: WsClient[] = [];
  let before_: DatabaseSnapshot[];
  let filesBefore: string[];

  const withPassword = (name: string) => {
    const url = new URL(databaseUrl(name));
    url.username = 'postgres';
    url.password = FAKE_PASSWORD;
    return url.toString();
  };

  before(async () => {
    dirs = await testDirectories();
    [local, other] = await Promise.all([createDatabase('api_bad_local'), createDatabase('api_bad_other')]);
    await local.sql.unsafe(`CREATE TABLE public.parts (id int PRIMARY KEY, sku text); INSERT INTO public.parts SELECT g, 'p' || g FROM generate_series(1, 50) g`);
    await other.sql.unsafe(`CREATE TABLE public.keep (x int); INSERT INTO public.keep VALUES (42)`);
    await writeFile(join(dirs.dumps, 'local-1.sql'), '-- a dump\n');
    await writeFile(join(dirs.root, 'secret.sql'), 'secret');
    await writeFile(join(dirs.backups, BACKUP_ID), 'x');
    const manifest = {
      formatVersion: DUMP_FORMAT_VERSION, tool: { name: 'mbsync', version: '0' }, source: 'local', serverVersion: '15', serverVersionNum: 150000,
      startedAt: '2024-01-01T00:00:00.000Z', finishedAt: '2024-01-01T00:00:01.000Z', compression: 'gzip', file: BACKUP_ID, fileBytes: 1,
      sha256: 'x', rows: 0, dataBytes: 1, tables: [], sequences: 0, schema: {}, backupOf: { target: 'local', schemas: ['public'] },
    };
    await writeFile(join(dirs.backups, `${BACKUP_ID}.manifest.json`), JSON.stringify(manifest));
    app = await createTestApp(testEnv({ prefix, ...dirs }, {
      LOCAL_DATABASE_URL: withPassword(local.name),
      OTHER_DATABASE_URL: withPassword(other.name),
      STAGING_DATABASE_URL: withPassword(other.name), // protected by its name, whatever the host
      CLOUD_DATABASE_URL: `postgres://postgres:${FAKE_PASSWORD}@db.abcdefgh.supabase.co:5432/postgres`, // protected by its host
      REMOTE_DATABASE_URL: `postgres://postgres:${FAKE_PASSWORD}@db.example.com:5432/remote`,
      RATE_LIMIT_MAX: '1000',
      WS_MAX_MESSAGE_BYTES: '1024',
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    before_ = await Promise.all([snapshotDatabase(local.sql), snapshotDatabase(other.sql)]);
    filesBefore = await listFiles();
  });

  after(async () => {
    for (const s of sockets) s.socket.terminate();
    await app?.close();
    await dropPrefix(prefix);
    await Promise.all([local?.drop(), other?.drop(), dirs?.remove()]);
  });

  async function listFiles(): Promise<string[]> {
    const entries = await readdir(dirs.root, { recursive: true });
    return entries.map(String).sort();
  }

  /** Nothing enqueued, no file written, both databases as they were, and the server still answers. */
  async function assertNothingChanged(label: string): Promise<void> {
    const counts = await app.jobQueue.queue.getJobCounts();
    assert.deepEqual(Object.values(counts).filter((n) => n > 0), [], `${label}: jobs ${JSON.stringify(counts)}`);
    assert.deepEqual(await listFiles(), filesBefore, `${label}: files`);
    assert.deepEqual(await Promise.all([snapshotDatabase(local.sql), snapshotDatabase(other.sql)]), before_, `${label}: databases`);
    assert.equal((await fetch(`${base}/health`)).status, 200, `${label}: server down`);
  }

  function checkError(label: string, status: number, bodyText: string, expected: Omit<HttpCase, 'name' | 'url'>): string {
    let body: { error?: { code?: string; message?: string; details?: { field?: string } } };
    try {
      body = JSON.parse(bodyText) as typeof body;
    } catch {
      assert.fail(`${label}: not the error shape: ${bodyText.slice(0, 200)}`);
    }
    assert.equal(status, expected.status, `${label}: ${bodyText}`);
    assert.equal(body.error?.code, expected.code, `${label}: ${bodyText}`);
    const message = body.error?.message ?? '';
    assert.ok(message.length > 0, `${label}: empty message`);
    if (expected.field) {
      assert.equal(body.error?.details?.field, expected.field, `${label}: ${bodyText}`);
      assert.ok(message.startsWith(expected.field), `${label}: ${message}`);
    }
    if (expected.message) assert.match(message, expected.message, label);
    for (const secret of [FAKE_PASSWORD, API_KEY, WRONG_KEY, 'postgres://', 'supabase.co', dirs.root]) {
      assert.ok(!bodyText.includes(secret), `${label}: answer shows ${secret}`);
    }
    return message;
  }

  const post = (url: string, payload: unknown, extra: Partial<HttpCase> = {}): Omit<HttpCase, 'name' | 'status' | 'code'> => ({ method: 'POST', url, payload, ...extra });

  const traversal = ['../secret.sql', '..%2Fsecret.sql', '%2e%2e%2fsecret.sql', '/etc/passwd', '/tmp/x.sql', 'sub/x.sql', '..\\secret.sql', 'C:\\x.sql', 'x.sql\u0000.txt', 'a\u0000.sql', '.sql', '..'];

  const cases: HttpCase[] = [
    // payload shape
    { name: 'body is a JSON array', ...post('/api/sync/sync', '[]', { contentType: 'application/json' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body' },
    { name: 'body is JSON null', ...post('/api/sync/sync', 'null', { contentType: 'application/json' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body' },
    { name: 'body is a JSON string', ...post('/api/sync/sync', '"local"', { contentType: 'application/json' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body' },
    { name: 'empty body with a JSON content type', ...post('/api/sync/sync', '', { contentType: 'application/json' }), status: 400, code: 'API_BAD_REQUEST', message: /Body cannot be empty/ },
    // decoded with U+FFFD in place of the bad byte, which no name pattern accepts
    { name: 'invalid UTF-8 inside a JSON value', ...post('/api/sync/sync', Buffer.concat([Buffer.from('{"from":"lo'), Buffer.from([0xff]), Buffer.from('cal","to":"other"}')]), { contentType: 'application/json' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: '__proto__ key (prototype pollution)', ...post('/api/sync/sync', '{"from":"local","to":"other","__proto__":{"admin":true}}', { contentType: 'application/json' }), status: 400, code: 'API_INVALID_JSON' },
    { name: 'constructor.prototype key', ...post('/api/sync/sync', '{"from":"local","to":"other","constructor":{"prototype":{"admin":true}}}', { contentType: 'application/json' }), status: 400, code: 'API_INVALID_JSON' },
    // text/plain is parsed as a string, which is not the object the route takes
    { name: 'JSON sent as text/plain', ...post('/api/sync/sync', '{"from":"local","to":"other"}', { contentType: 'text/plain' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body', message: /must be object/ },
    { name: 'form-encoded body', ...post('/api/sync/sync', 'from=local&to=other', { contentType: 'application/x-www-form-urlencoded' }), status: 415, code: 'API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'JSON nested 5000 deep', ...post('/api/sync/sync', `{"from":"local","to":"other","x":${'['.repeat(5000)}${']'.repeat(5000)}}`, { contentType: 'application/json' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/x' },
    // wrong types and values
    { name: 'from is a number', ...post('/api/sync/sync', { from: 123, to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'from is an object', ...post('/api/sync/sync', { from: { name: 'local' }, to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'from is an empty string', ...post('/api/sync/sync', { from: '', to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'from is 64 characters', ...post('/api/sync/sync', { from: 'a'.repeat(64), to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'from with a NUL byte', ...post('/api/sync/sync', { from: 'local\u0000', to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'from with a look-alike letter (Greek omicron)', ...post('/api/sync/sync', { from: 'l\u03bfcal', to: 'other' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/from' },
    { name: 'mode is not a mode', ...post('/api/sync/sync', { from: 'local', to: 'other', mode: 'drop-everything' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/mode', message: /must be one of "replace", "data-only"$/ },
    { name: 'excludeTables entry without a schema', ...post('/api/sync/export', { from: 'local', excludeTables: ['parts'] }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/excludeTables/0' },
    { name: 'extra property on import', ...post('/api/sync/import', { to: 'other', file: 'local-1.sql', sql: 'DROP TABLE x' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/sql', message: /is not an accepted property/ },
    { name: 'extra property on restore', ...post(`/api/backups/${BACKUP_ID}/restore`, { to: 'other', file: '/etc/passwd' }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/file' },
    { name: 'job list state not a state', url: '/api/jobs?state=hacked', status: 400, code: 'API_VALIDATION_FAILED', field: 'querystring/state', message: /must be one of "waiting", .*"cancelled"/ },
    { name: 'job list limit -1', url: '/api/jobs?limit=-1', status: 400, code: 'API_VALIDATION_FAILED', field: 'querystring/limit' },
    { name: 'job list offset not a number', url: '/api/jobs?offset=abc', status: 400, code: 'API_VALIDATION_FAILED', field: 'querystring/offset' },
    { name: 'job id with a path', url: '/api/jobs/..%2F..%2Fetc', status: 400, code: 'API_VALIDATION_FAILED', field: 'params/id' },
    // unknown environments
    { name: 'unknown source (sync)', ...post('/api/sync/sync', { from: 'nowhere', to: 'other' }), status: 400, code: 'JOBS_UNKNOWN_ENVIRONMENT', message: /unknown environment "nowhere" \(configured: cloud, local, other, remote, staging\)/ },
    { name: 'unknown target (import)', ...post('/api/sync/import', { to: 'nowhere', file: 'local-1.sql' }), status: 400, code: 'JOBS_UNKNOWN_ENVIRONMENT', message: /"nowhere"/ },
    { name: 'unknown target (reindex)', ...post('/api/sync/reindex', { to: 'nowhere' }), status: 400, code: 'JOBS_UNKNOWN_ENVIRONMENT', message: /"nowhere"/ },
    { name: 'unknown environment (schema diff)', url: '/api/schema/diff?from=nowhere&to=local', status: 400, code: 'JOBS_UNKNOWN_ENVIRONMENT', message: /"nowhere"/ },
    // protected and remote targets
    { name: 'protected target by name, upper case', ...post('/api/sync/sync', { from: 'local', to: 'STAGING' }), status: 403, code: 'JOBS_PROTECTED_TARGET', message: /staging/ },
    { name: 'protected target by name, confirmed', ...post('/api/sync/sync', { from: 'local', to: 'staging', confirm: 'staging' }), status: 403, code: 'JOBS_PROTECTED_TARGET' },
    { name: 'protected target by Supabase host (sync)', ...post('/api/sync/sync', { from: 'local', to: 'cloud' }), status: 403, code: 'JOBS_PROTECTED_TARGET', message: /"cloud"/ },
    { name: 'protected target by Supabase host (import)', ...post('/api/sync/import', { to: 'cloud', file: 'local-1.sql', confirm: 'cloud' }), status: 403, code: 'JOBS_PROTECTED_TARGET' },
    { name: 'protected target by Supabase host (restore)', ...post(`/api/backups/${BACKUP_ID}/restore`, { to: 'cloud' }), status: 403, code: 'JOBS_PROTECTED_TARGET' },
    { name: 'remote target with the wrong confirmation', ...post('/api/sync/sync', { from: 'local', to: 'remote', confirm: 'Remote2' }), status: 403, code: 'JOBS_CONFIRMATION_REQUIRED', message: /"confirm": "remote"/ },
    // path traversal in dump and backup names
    ...traversal.map((file): HttpCase => ({ name: `import file ${JSON.stringify(file)}`, ...post('/api/sync/import', { to: 'other', file }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/file' })),
    ...['../out.sql', '/tmp/out.sql', 'a\u0000.sql', '..\\out.sql'].map((file): HttpCase => ({ name: `export file ${JSON.stringify(file)}`, ...post('/api/sync/export', { from: 'local', file }), status: 400, code: 'API_VALIDATION_FAILED', field: 'body/file' })),
    ...['%2e%2e%2fsecret.sql', '%2E%2E%2Fsecret.sql', '%252e%252e%252fsecret.sql', '..%5Csecret.sql', 'x%00.sql', 'local-1.sql%00', '..%2F..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd'].map((name): HttpCase => ({
      name: `download /api/dumps/${name}`,
      url: `/api/dumps/${name}`,
      status: 400,
      code: 'API_VALIDATION_FAILED',
      field: 'params/name',
    })),
    // `%2e%2e` alone is a dot segment: the URL is normalised to /api/ before any route sees it
    { name: 'download /api/dumps/%2e%2e', url: '/api/dumps/%2e%2e', status: 404, code: 'API_NOT_FOUND' },
    ...['%2e%2e%2f' + BACKUP_ID, `${BACKUP_ID}%00`, '..%2F..%2Fetc%2Fpasswd', '%2Ftmp%2F' + BACKUP_ID].map((id): HttpCase => ({
      name: `restore /api/backups/${id}`,
      ...post(`/api/backups/${id}/restore`, {}),
      status: 400,
      code: 'API_VALIDATION_FAILED',
      field: 'params/id',
    })),
    // oversized bodies (64 KiB limit)
    ...['/api/sync/import', '/api/sync/export', `/api/backups/${BACKUP_ID}/restore`, '/api/ws-ticket'].map((url): HttpCase => ({
      name: `70 KB body to ${url}`,
      ...post(url, JSON.stringify({ pad: 'x'.repeat(70_000) }), { contentType: 'application/json' }),
      status: 413,
      code: 'API_PAYLOAD_TOO_LARGE',
    })),
  ];

  test('every bad request gets its status, code and a message naming the problem; nothing changes', async () => {
    const outcomes: string[] = [];
    for (const c of cases) {
      const headers: Record<string, string> = { ...AUTH };
      let body: string | Buffer | undefined;
      if (c.payload !== undefined) {
        body = typeof c.payload === 'string' || Buffer.isBuffer(c.payload) ? c.payload : JSON.stringify(c.payload);
        headers['content-type'] = c.contentType ?? 'application/json';
      }
      const res = await app.inject({ method: c.method ?? 'GET', url: c.url, headers, ...(body === undefined ? {} : { payload: body }) });
      const message = checkError(c.name, res.statusCode, res.body, c);
      outcomes.push(`${c.name} → ${res.statusCode} ${res.json().error.code}: ${message}`);
    }
    await assertNothingChanged('http cases');
    console.log(`bad requests: ${cases.length} cases\n  ${outcomes.join('\n  ')}`);
  });

  /** A raw HTTP/1.1 request over a real socket (no client-side URL normalisation, chunked bodies). */
  function raw(path: string, options: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      // host/port/path options: the path goes out byte for byte (a URL string would be normalised first)
      const { hostname, port } = new URL(base);
      const req = httpRequest({ hostname, port, path, method: options.method ?? 'GET', headers: { ...AUTH, ...options.headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      for (const chunk of options.chunks ?? []) req.write(chunk);
      req.end();
    });
  }

  test('over a real socket: dot segments in the path, a chunked body over the limit', async () => {
    const rawOutcomes: string[] = [];
    for (const path of ['/api/dumps/../secret.sql', '/api/dumps/..%2f..%2fsecret.sql', '/api/dumps/%2e%2e/secret.sql', '/api/dumps//etc/passwd']) {
      const res = await raw(path);
      assert.ok([400, 404].includes(res.status), `${path}: ${res.status} ${res.body}`);
      checkError(path, res.status, res.body, { status: res.status, code: res.status === 404 ? 'API_NOT_FOUND' : 'API_VALIDATION_FAILED' });
      assert.ok(!res.body.includes('"secret"') && !res.body.includes('root:'), `${path}: ${res.body}`);
      rawOutcomes.push(`${path} → ${res.status} ${res.body.slice(0, 120)}`);
    }
    // no content-length: the limit must hold while the body streams in
    const chunked = await raw('/api/sync/sync', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: Array.from({ length: 40 }, () => Buffer.alloc(4096, 0x20)) });
    checkError('chunked 160 KB', chunked.status, chunked.body, { status: 413, code: 'API_PAYLOAD_TOO_LARGE' });
    rawOutcomes.push(`chunked 160 KB body → ${chunked.status} ${chunked.body}`);
    await assertNothingChanged('raw http');
    console.log(`raw http:\n  ${rawOutcomes.join('\n  ')}`);
  });

  const wsUrl = () => `${base.replace('http', 'ws')}/ws`;
  async function open(): Promise<WsClient> {
    const client = await connectWs(wsUrl(), AUTH);
    sockets.push(client);
    return client;
  }
  type FrameSocket = RawSocket & { send(data: string | Buffer, options: { binary?: boolean; fin?: boolean }): void };

  test('WebSocket: binary, malformed, oversized, fragmented and flooding messages', async () => {
    const outcomes: string[] = [];
    // binary frame: an error message, the socket stays usable
    const binary = await open();
    (binary.socket as FrameSocket).send(Buffer.from([0x00, 0xff, 0x10]), { binary: true });
    const binaryError = await binary.next((m) => m.type === 'error');
    assert.deepEqual(binaryError.error, { code: 'WS_MESSAGE_INVALID', message: 'send JSON text frames' });
    binary.send({ type: 'ping' });
    await binary.next((m) => m.type === 'pong');
    outcomes.push(`binary frame → error WS_MESSAGE_INVALID "${binaryError.error.message}", socket open`);

    // JSON nested deeper than anything valid, within the size limit
    const nested = await open();
    nested.send(`{"type":"subscribe","jobId":${'['.repeat(400)}${']'.repeat(400)}}`);
    assert.equal((await nested.next((m) => m.type === 'error')).error.code, 'WS_MESSAGE_INVALID');
    const longId = await open();
    longId.send({ type: 'subscribe', jobId: 'x'.repeat(900) });
    assert.equal((await longId.next((m) => m.type === 'error')).error.code, 'WS_MESSAGE_INVALID');
    outcomes.push('nested JSON / 900-character job id → error WS_MESSAGE_INVALID, socket open');

    // invalid UTF-8 in a text frame: closed by the protocol (1007), nothing else affected
    const badText = await open();
    (badText.socket as FrameSocket).send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    const badTextClose = await badText.closed;
    assert.equal(badTextClose.code, 1007);
    outcomes.push(`text frame with invalid UTF-8 → closed ${badTextClose.code}`);

    // a message split into fragments that together exceed WS_MAX_MESSAGE_BYTES (1024)
    const fragmented = await open();
    const frames = fragmented.socket as FrameSocket;
    for (let i = 0; i < 5; i++) frames.send(Buffer.from(i === 0 ? `{"type":"ping","pad":"${'x'.repeat(290)}` : 'x'.repeat(300)), { binary: false, fin: false });
    frames.send(Buffer.from('"}'), { binary: false, fin: true });
    const fragmentedClose = await fragmented.closed;
    assert.equal(fragmentedClose.code, 1009);
    outcomes.push(`fragments totalling 1.5 KB over a 1 KB limit → closed ${fragmentedClose.code}`);

    // a flood: 2000 malformed messages, then a ping; each gets its error, the socket and the server stay up
    const flood = await open();
    for (let i = 0; i < 2000; i++) flood.send(i % 2 ? 'not json' : { type: 'subscribe', all: 'yes' });
    flood.send({ type: 'ping' });
    await flood.next((m) => m.type === 'pong', 20_000);
    assert.equal(flood.messages.filter((m) => m.type === 'error' && m.error.code === 'WS_MESSAGE_INVALID').length, 2000);
    outcomes.push('2000 malformed messages → 2000 errors WS_MESSAGE_INVALID, then pong');

    // the upgrade with a wrong key or no key: refused before any socket exists
    await assert.rejects(connectWs(wsUrl(), { authorization: `Bearer ${WRONG_KEY}` }), /upgrade refused: 401/);
    await assert.rejects(connectWs(`${wsUrl()}?ticket=${'A'.repeat(43)}`), /upgrade refused: 401/);
    outcomes.push('upgrade with a wrong key / an unknown ticket → 401, no socket');

    // the server is fine: a fresh socket works, the earlier good ones still do
    const fresh = await open();
    fresh.send({ type: 'ping' });
    await fresh.next((m) => m.type === 'pong');
    await assertNothingChanged('websocket');
    console.log(`bad websocket input:\n  ${outcomes.join('\n  ')}`);
  });
});

describe('bad input corpus: wrong API keys at a high rate', { timeout: 60_000 }, () => {
  let app: FastifyInstance;
  let dirs: TestDirectories;
  const prefix = testPrefix('auth-flood');
  const LIMIT = 10;

  before(async () => {
    dirs = await testDirectories();
    app = await createTestApp(testEnv({ prefix, ...dirs }, { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: '600000', LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/api_flood_never_used' }));
  });

  after(async () => {
    await app?.close();
    await dropPrefix(prefix);
    await dirs?.remove();
  });

  const ATTACKER = '203.0.113.66';
  const CLIENT = '198.51.100.7';
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

  async function timedValid(remoteAddress: string): Promise<number> {
    const started = process.hrtime.bigint();
    const res = await app.inject({ url: '/api/environments', headers: AUTH, remoteAddress });
    assert.equal(res.statusCode, 200, res.body);
    return Number(process.hrtime.bigint() - started) / 1e6;
  }

  test('401 up to the limit, then 429 with Retry-After; valid clients are neither refused nor slowed', async () => {
    const baseline: number[] = [];
    for (let i = 0; i < 50; i++) baseline.push(await timedValid(CLIENT));

    // 500 wrong keys (and missing keys, bad tickets) from one address, while a valid client keeps working
    const during: number[] = [];
    const statuses = new Map<number, number>();
    const attack = (async () => {
      for (let i = 0; i < 500; i++) {
        const headers: Record<string, string> = i % 3 === 0 ? { 'x-api-key': `${WRONG_KEY}${i}` } : i % 3 === 1 ? { authorization: `Bearer ${WRONG_KEY}` } : {};
        const res = await app.inject({ method: i % 2 ? 'POST' : 'GET', url: i % 2 ? '/api/sync/sync' : '/api/jobs', headers, remoteAddress: ATTACKER, ...(i % 2 ? { payload: { from: 'local', to: 'local' } } : {}) });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const body = res.json() as { error: { code: string; message: string } };
        if (i < LIMIT) {
          assert.equal(res.statusCode, 401, `request ${i}`);
          assert.equal(body.error.code, 'API_UNAUTHORIZED');
        } else {
          assert.equal(res.statusCode, 429, `request ${i}`);
          assert.equal(body.error.code, 'API_RATE_LIMITED');
          assert.match(body.error.message, /too many failed authentications from this address: retry in \d+ s/);
          assert.ok(Number(res.headers['retry-after']) >= 1);
        }
        assert.ok(!res.body.includes(WRONG_KEY), 'the key is not echoed');
      }
    })();
    const client = (async () => {
      for (let i = 0; i < 50; i++) during.push(await timedValid(CLIENT));
    })();
    await Promise.all([attack, client]);
    assert.deepEqual(Object.fromEntries(statuses), { 401: LIMIT, 429: 500 - LIMIT });

    // the attacker's address with the valid key is not locked out; its WebSocket upgrades with a wrong key are refused too
    assert.ok((await timedValid(ATTACKER)) >= 0);
    const upgrade = await app.inject({ url: '/ws', headers: { authorization: `Bearer ${WRONG_KEY}`, connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }, remoteAddress: ATTACKER });
    assert.equal(upgrade.statusCode, 429);

    // another address that fails gets its own 401s
    assert.equal((await app.inject({ url: '/api/jobs', headers: { authorization: `Bearer ${WRONG_KEY}` }, remoteAddress: '192.0.2.1' })).statusCode, 401);

    const p50 = (v: number[]) => percentile(v, 0.5).toFixed(2);
    const p95 = (v: number[]) => percentile(v, 0.95).toFixed(2);
    console.log(`auth flood: 500 bad requests → ${LIMIT}×401 then ${500 - LIMIT}×429; valid client 50/50 OK, latency p50 ${p50(baseline)} → ${p50(during)} ms, p95 ${p95(baseline)} → ${p95(during)} ms`);
    // no slowdown: the limiter only adds a map lookup to failures; allow for a shared, loaded machine
    assert.ok(percentile(during, 0.5) < Math.max(5 * percentile(baseline, 0.5), 20), `p50 ${p50(baseline)} → ${p50(during)} ms`);
  });
});

test('the failure counter: fixed windows per address, reset after the window, bounded memory', () => {
  let now = 1_000;
  const counter = failureCounter({ max: 3, windowMs: 1_000 }, () => now);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => counter.hit('a')), [0, 0, 0, 1_000, 1_000]);
  now += 400;
  assert.equal(counter.hit('a'), 600, 'the wait is what is left of the window');
  assert.equal(counter.hit('b'), 0, 'addresses are counted apart');
  now += 600;
  assert.equal(counter.hit('a'), 0, 'a new window starts after the old one ends');
  for (let i = 0; i < 20_000; i++) counter.hit(`10.0.${i >> 8}.${i & 255}`);
  assert.ok(counter.size <= 10_000, `${counter.size} addresses remembered`);
});
