import { existsSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ApiConfigError, loadApiConfig } from './config.js';
import { prettyLogStream } from './logger.js';

// The only place that reads the environment, listens, installs signal handlers and exits.
if (existsSync('.env')) process.loadEnvFile('.env');

let config;
try {
  config = loadApiConfig(process.env);
} catch (error) {
  if (!(error instanceof ApiConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

// readable lines for a person at a terminal, except with NODE_ENV=production: JSON lines, one object each
const pretty = process.stdout.isTTY && !config.production;
const app = await buildApp({ config, ...(pretty ? { logStream: await prettyLogStream() } : {}) });

// SIGINT/SIGTERM: stop accepting, let in-flight requests finish, close sockets with 1001 "server shutting down",
// close Redis; after API_SHUTDOWN_GRACE_MS, exit anyway. A second signal exits at once.
closeWithGrace({ delay: config.shutdownGraceMs, logger: { error: (message: unknown) => app.log.error(message) } }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'fatal error: shutting down');
  else app.log.info({ signal }, 'signal received: shutting down');
  await app.close();
  app.log.info('api stopped');
});

try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  app.log.error({ err: error }, 'cannot listen');
  process.exit(1);
}
