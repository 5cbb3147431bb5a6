// Runs one export in its own process and prints its peak RSS, so tests can measure memory without
// the test runner's own heap in the figure. Usage: export-child.ts <database-url> <out-file> [jobs]
import postgres from 'postgres';
import { exportDatabase } from '@mbsync/dump';

const [url, out, jobs = '1'] = process.argv.slice(2);
if (!url || !out) throw new Error('usage: export-child.ts <database-url> <out-file>');
const sql = postgres(url, { max: 1, onnotice: () => {} });
await sql`SELECT 1`;
const rssBefore = process.memoryUsage.rss();
const { manifest } = await exportDatabase({ sql, sourceName: 'child', out, jobs: Number(jobs) });
await sql.end();
process.stdout.write(JSON.stringify({ rssBefore, maxRss: process.resourceUsage().maxRSS * 1024, rows: manifest.rows, dataBytes: manifest.dataBytes }) + '\n');
