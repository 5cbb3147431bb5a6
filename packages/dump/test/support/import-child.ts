// Imports a dump in its own process, printing one JSON line per progress report, so a test can kill it
// (SIGKILL) in the middle. Usage: import-child.ts <database-url> <dump-file>
import postgres from 'postgres';
import { importDump, openDumpFile } from '@mbsync/dump';

const [url, file] = process.argv.slice(2);
if (!url || !file) throw new Error('usage: import-child.ts <database-url> <dump-file>');
const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'mbsync-import-child' } });
await importDump({
  sql,
  targetName: 'child',
  source: await openDumpFile(file),
  onProgress: (p) => process.stdout.write(JSON.stringify({ bytesDone: p.bytesDone, table: p.table }) + '\n'),
});
await sql.end();
process.stdout.write('{"done":true}\n');
