// PM2 process file: `pnpm start` runs the api and the worker as separate apps, from the build (`pnpm build`).
// PM2 reads this file before either app has read `.env`, so the settings it uses itself (WORKER_INSTANCES,
// WORKER_SHUTDOWN_GRACE_MS, API_SHUTDOWN_GRACE_MS) are read here from the project's `.env`, the way the apps read
// it: the process environment wins, `.env` fills in. node's own parser (util.parseEnv, Node ≥ 20.12), no dependency.
// Workers finish or cancel running jobs within WORKER_SHUTDOWN_GRACE_MS after SIGINT; kill_timeout is longer.
const fs = require('node:fs');
const path = require('node:path');
const { parseEnv } = require('node:util');

/** `.env` next to this file, under the process environment; {} when there is none. */
function readSettings() {
  let fromFile = {};
  try {
    fromFile = parseEnv(fs.readFileSync(path.join(__dirname, '.env'), 'utf8'));
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  return { ...fromFile, ...process.env };
}

const settings = readSettings();

/** A whole number setting; a bad value stops `pnpm start` with the variable's name (never a silent default). */
function wholeNumber(name, fallback, min) {
  const raw = (settings[name] ?? '').trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min} (ecosystem.config.cjs reads it from .env), got "${raw}"`);
  return value;
}

const workerInstances = wholeNumber('WORKER_INSTANCES', 1, 1);
const workerGraceMs = wholeNumber('WORKER_SHUTDOWN_GRACE_MS', 30000, 0);
const apiGraceMs = wholeNumber('API_SHUTDOWN_GRACE_MS', 10000, 0);
// production unless .env (or the shell) says otherwise: JSON log lines (see NODE_ENV in .env.example)
const nodeEnv = (settings.NODE_ENV ?? '').trim() || 'production';

module.exports = {
  apps: [
    {
      name: 'mbsync-api',
      cwd: __dirname,
      script: path.join(__dirname, 'apps/api/dist/src/main.js'),
      instances: 1,
      exec_mode: 'fork',
      kill_timeout: apiGraceMs + 5000,
      // a bad configuration exits at once with its reasons: back off instead of restarting in a hot loop
      exp_backoff_restart_delay: 1000,
      env: { NODE_ENV: nodeEnv },
    },
    {
      name: 'mbsync-worker',
      cwd: __dirname,
      script: path.join(__dirname, 'apps/worker/dist/src/main.js'),
      instances: workerInstances,
      exec_mode: 'fork',
      kill_timeout: workerGraceMs + 15000,
      exp_backoff_restart_delay: 1000,
      env: { NODE_ENV: nodeEnv },
    },
  ],
};
