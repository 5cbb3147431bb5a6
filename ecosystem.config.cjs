// PM2 process file: `pnpm start` runs the api and the worker as separate apps, from the build (`pnpm build`).
// Workers finish or cancel running jobs within WORKER_SHUTDOWN_GRACE_MS after SIGINT; kill_timeout is longer.
const path = require('node:path');

const shutdownGraceMs = Number(process.env.WORKER_SHUTDOWN_GRACE_MS || 30000);

module.exports = {
  apps: [
    {
      name: 'mbsync-api',
      cwd: __dirname,
      script: path.join(__dirname, 'apps/api/dist/src/main.js'),
      instances: 1,
      exec_mode: 'fork',
      kill_timeout: 10000,
      // a bad configuration exits at once with its reasons: back off instead of restarting in a hot loop
      exp_backoff_restart_delay: 1000,
      env: { NODE_ENV: 'production' },
    },
    {
      name: 'mbsync-worker',
      cwd: __dirname,
      script: path.join(__dirname, 'apps/worker/dist/src/main.js'),
      instances: Number(process.env.WORKER_INSTANCES || 1),
      exec_mode: 'fork',
      kill_timeout: shutdownGraceMs + 15000,
      exp_backoff_restart_delay: 1000,
      env: { NODE_ENV: 'production' },
    },
  ],
};
