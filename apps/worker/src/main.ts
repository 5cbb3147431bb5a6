import { existsSync } from 'node:fs';
import { WorkerConfigError, loadWorkerConfig } from './config.js';
import { createWorkerLogger, prettyLogStream } from './logger.js';
import { startJobWorker } from './workers.js';

// The only place that reads the environment, installs signal handlers and exits.
if (existsSync('.env')) process.loadEnvFile('.env');

let config;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  if (!(error instanceof WorkerConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

// pretty lines for a person at a terminal; JSON lines (one object per line) for PM2's log files and collectors,
// and always with NODE_ENV=production
const pretty = process.stdout.isTTY && !config.production;
const logger = createWorkerLogger({ level: config.logLevel, workerName: config.workerName, ...(pretty ? { stream: await prettyLogStream() } : {}) });
const jobWorker = await startJobWorker(config, logger);

let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now; running jobs will be picked up as stalled');
    process.exit(1);
  }
  logger.info({ signal }, 'signal received');
  void jobWorker.shutdown().then(() => process.exit(0));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Logged, not fatal: a Redis outage can surface as a stray rejection inside BullMQ, and exiting would turn
// a reconnectable glitch into stalled jobs.
process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
