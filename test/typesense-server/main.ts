/**
 * `pnpm typesense:dev`: runs the in-memory Typesense-compatible test server in the foreground.
 * Port and key come from `--port`/`--api-key` or TYPESENSE_DEV_PORT/TYPESENSE_DEV_API_KEY;
 * `--version 27|28|29` picks the emulated version. SIGINT/SIGTERM close it.
 */
import { parseArgs } from 'node:util';
import { TYPESENSE_VERSIONS, type TypesenseVersion } from './messages.js';
import { createTypesenseServer } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'api-key': { type: 'string' },
    version: { type: 'string' },
    host: { type: 'string' },
  },
  strict: true,
});

const port = Number(values.port ?? process.env.TYPESENSE_DEV_PORT ?? 8108);
const apiKey = values['api-key'] ?? process.env.TYPESENSE_DEV_API_KEY ?? 'xyz';
const version = Number(values.version ?? 29) as TypesenseVersion;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`typesense-dev: invalid port ${String(values.port ?? process.env.TYPESENSE_DEV_PORT)}`);
  process.exit(2);
}
if (!TYPESENSE_VERSIONS.includes(version)) {
  console.error(`typesense-dev: --version must be one of ${TYPESENSE_VERSIONS.join(', ')}`);
  process.exit(2);
}

const server = await createTypesenseServer({ port, apiKey, version, host: values.host ?? '127.0.0.1' });
// The key is a local test key; printing it lets a developer paste it into a client.
console.log(`typesense test server v${version} listening on ${server.url} (api key: ${apiKey})`);

let closing = false;
const shutdown = (signal: string): void => {
  if (closing) return;
  closing = true;
  server.close().then(
    () => {
      console.log(`typesense test server closed (${signal})`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
