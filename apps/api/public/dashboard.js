/* global document */
// The dashboard: API key, environments, the job form, the schema diff, and the live job lists.

import { api, apiKey } from './api-client.js';
import { createJobList, el } from './job-list.js';
import { createLiveFeed } from './live-feed.js';

const $ = (id) => document.getElementById(id);

/** name → { name, protected, loopback, writable, typesense } */
const environments = new Map();
const needsConfirm = (name) => {
  const env = environments.get(name);
  return env ? env.protected || !env.loopback : false;
};

const jobList = createJobList({
  running: $('running'),
  history: $('history'),
  runningEmpty: $('running-empty'),
  historyEmpty: $('history-empty'),
  announcer: $('announcer'),
  actions: {
    needsConfirm,
    cancel: async (job) => {
      const answer = await api.cancel(job.id);
      if (answer.state === 'cancelled') jobList.state({ jobId: job.id, state: 'cancelled', error: { code: 'CANCELLED', message: 'cancelled before it started' } });
    },
    retry: async (job) => {
      const started = await api.retry(job.id);
      track(started, bodyFromPayload(job).body);
      // the old job now links to the new one
      void refreshJob(job.id);
      return started;
    },
    acceptDataLoss: async (job) => {
      const { type, body } = bodyFromPayload(job);
      const retry = { ...body, acceptDataLoss: true };
      track(type === 'restore' ? await api.restore(retry.backupId, withoutUndefined({ ...retry, backupId: undefined })) : await api.start(type, retry), retry);
    },
    restore: async (job, backupId, options) => {
      const body = withoutUndefined(options);
      const started = await api.restore(backupId, body);
      track(started, { backupId, to: job.payload?.target, ...body });
      return started;
    },
  },
});

const withoutUndefined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));

/** A job's payload back into its route's body (payload names → request names). */
function bodyFromPayload(job) {
  const { source, target, ...rest } = job.payload ?? {};
  if (job.type === 'restore') return { type: 'restore', body: { to: target, ...rest } };
  return { type: job.type, body: withoutUndefined({ from: source, to: target, ...rest }) };
}

/** A request body back into the payload the job will hold (request names → payload names). */
function payloadFromBody(type, body) {
  const { from, to, ...rest } = body;
  if (type === 'reindex') return withoutUndefined({ environment: to, collections: rest.collections });
  return withoutUndefined({ source: from, target: to, ...rest });
}

/** A 202 answer: show the job at once (the socket and a fetch of its full view bring the rest). */
function track(accepted, body = {}) {
  if (!jobList.get(accepted.id)) {
    jobList.upsert({ id: accepted.id, type: accepted.type, state: accepted.state, percent: 0, progress: null, payload: payloadFromBody(accepted.type, body), attempts: 0, maxAttempts: 1, createdAt: accepted.createdAt, startedAt: null, finishedAt: null });
  }
  void refreshJob(accepted.id);
}

async function refreshJob(id) {
  try {
    jobList.upsert(await api.job(id));
  } catch (error) {
    if (error.status === 404) jobList.remove(id);
  }
}

async function refreshHistory() {
  try {
    const { jobs } = await api.jobs('limit=20');
    for (const job of jobs.reverse()) jobList.upsert(job);
  } catch (error) {
    if (error.status === 401) askForKey('The key was refused.');
  }
}

// ---- live feed ------------------------------------------------------------------------------------------

const connection = $('connection');
const feed = createLiveFeed({
  onStatus: (state) => {
    connection.dataset.state = state;
    connection.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', offline: 'offline' }[state] ?? state;
  },
  onUnauthorized: () => askForKey('The key was refused.'),
  onMessage: (message) => {
    switch (message.type) {
      case 'snapshot': {
        const inSnapshot = new Set(message.jobs.map((j) => j.id));
        // jobs we showed as running that finished (or vanished) while we were away: ask for each
        const missed = jobList.unfinishedIds().filter((id) => !inSnapshot.has(id));
        for (const job of message.jobs) jobList.upsert(job);
        for (const id of missed) void refreshJob(id);
        void refreshHistory();
        break;
      }
      case 'progress':
        if (!jobList.progress(message)) void refreshJob(message.jobId);
        break;
      case 'state':
        if (!jobList.state(message)) void refreshJob(message.jobId);
        // the full view has the exact times and the result
        else if (!['waiting', 'delayed', 'active'].includes(message.state) || message.jobType) void refreshJob(message.jobId);
        break;
      case 'removed':
        jobList.remove(message.jobId);
        break;
      default:
        break;
    }
  },
});

// ---- environments and the form --------------------------------------------------------------------------

const form = $('job-form');
const typeSelect = $('job-type');
const sourceSelect = $('job-source');
const targetSelect = $('job-target');
const fileSelect = $('job-file');
const confirmField = $('confirm-field');
const confirmInput = $('job-confirm');
const formError = $('form-error');

function renderEnvironments(list) {
  environments.clear();
  for (const env of list) environments.set(env.name, env);
  $('environments').replaceChildren(...list.map((env) => el('li', {},
    el('span', { class: 'env-name' }, env.name),
    env.protected ? el('span', { class: 'badge protected' }, 'protected') : null,
    el('span', { class: 'badge' }, env.loopback ? 'local machine' : 'remote'),
    env.writable ? null : el('span', { class: 'badge' }, 'read-only here'),
    env.typesense ? el('span', { class: 'badge' }, 'search') : null)));
  const options = (filter) => list.filter(filter).map((env) => el('option', { value: env.name }, env.protected ? `${env.name} (protected)` : env.name));
  const keep = (select, fill) => {
    const previous = select.value;
    select.replaceChildren(...fill);
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  };
  keep(sourceSelect, options(() => true));
  keep(targetSelect, options((env) => typeSelect.value !== 'reindex' || env.typesense));
  // a sensible first pair: the first non-protected target that differs from the source
  if (!targetSelect.dataset.touched) {
    const target = list.find((env) => !env.protected && env.name !== sourceSelect.value);
    if (target) targetSelect.value = target.name;
  }
  updateForm();
}

async function loadDumps() {
  try {
    const { dumps } = await api.dumps();
    fileSelect.replaceChildren(...(dumps.length ? dumps.map((d) => el('option', { value: d.name }, d.name)) : [el('option', { value: '' }, 'no dump file yet')]));
  } catch {
    fileSelect.replaceChildren(el('option', { value: '' }, 'dump list unavailable'));
  }
}

/** Shows the fields the chosen job type takes, and the confirmation field when the target needs it. */
function updateForm() {
  const type = typeSelect.value;
  for (const node of form.querySelectorAll('[data-for]')) node.hidden = !node.dataset.for.split(' ').includes(type);
  const target = targetSelect.value;
  const writes = type !== 'export';
  const confirmNeeded = writes && target !== '' && needsConfirm(target);
  confirmField.hidden = !confirmNeeded;
  $('confirm-name').textContent = target;
  if (!confirmNeeded) confirmInput.value = '';
}

typeSelect.addEventListener('change', () => {
  if (typeSelect.value === 'import') void loadDumps();
  renderEnvironments([...environments.values()]);
});
targetSelect.addEventListener('change', () => {
  targetSelect.dataset.touched = '1';
  updateForm();
});
sourceSelect.addEventListener('change', updateForm);

function formBody(type) {
  const checked = (id) => ($(id).checked ? true : undefined);
  const confirm = confirmField.hidden ? undefined : confirmInput.value.trim();
  const write = { confirm, noBackup: checked('job-no-backup'), acceptDataLoss: checked('job-accept-loss'), createRoles: checked('job-create-roles') };
  // --no-owner --no-privileges: owners and privileges are copied unless this is ticked
  const copy = $('job-no-owner').checked ? { owners: false, privileges: false } : {};
  switch (type) {
    case 'sync': return { from: sourceSelect.value, to: targetSelect.value, mode: $('job-mode').value, keepDump: checked('job-keep-dump'), ...write, ...copy };
    case 'export': return { from: sourceSelect.value, ...copy };
    case 'import': return { to: targetSelect.value, file: fileSelect.value, mode: $('job-mode').value, ...write };
    case 'reindex': return { to: targetSelect.value, confirm };
    default: throw new Error(`unknown job type ${type}`);
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.textContent = '';
  const type = typeSelect.value;
  const button = $('start-job');
  button.disabled = true;
  try {
    const body = withoutUndefined(formBody(type));
    track(await api.start(type, body), body);
    confirmInput.value = '';
  } catch (error) {
    if (error.status === 401) return askForKey('The key was refused.');
    formError.replaceChildren(el('code', {}, error.code), ` ${error.message}`);
    if (error.details?.field === 'confirm' || error.code === 'JOBS_CONFIRMATION_REQUIRED') {
      confirmField.hidden = false;
      confirmInput.focus();
    }
  } finally {
    button.disabled = false;
  }
});

// ---- schema diff ----------------------------------------------------------------------------------------

$('diff-button').addEventListener('click', async () => {
  const panel = $('diff-panel');
  const summary = $('diff-summary');
  const report = $('diff-report');
  panel.hidden = false;
  summary.textContent = `Comparing ${sourceSelect.value} → ${targetSelect.value}…`;
  report.textContent = '';
  try {
    const diff = await api.schemaDiff(sourceSelect.value, targetSelect.value);
    const verdict = (mode) => {
      const v = diff.verdict[mode];
      return `${mode}: ${v.allowed ? (v.needsConfirmation ? 'possible, needs "accept data loss"' : 'possible') : 'not possible'}`;
    };
    summary.textContent = `${diff.from} → ${diff.to}: ${diff.changes.length} difference${diff.changes.length === 1 ? '' : 's'}. ${verdict('replace')}; ${verdict('data-only')}.`;
    report.textContent = diff.report;
  } catch (error) {
    summary.replaceChildren(el('span', { class: 'error' }, `${error.code}: ${error.message}`));
  }
  panel.scrollIntoView({ block: 'nearest' });
});

$('history-refresh').addEventListener('click', () => void refreshHistory());

// ---- the key --------------------------------------------------------------------------------------------

function askForKey(reason) {
  feed.stop();
  apiKey.clear();
  $('app').hidden = true;
  $('forget-key').hidden = true;
  $('key-panel').hidden = false;
  $('key-error').textContent = reason ?? '';
  $('key-input').value = '';
  $('key-input').focus();
}

async function open() {
  try {
    const { environments: list } = await api.environments();
    renderEnvironments(list);
  } catch (error) {
    if (error.status === 401) return askForKey('The key was refused.');
    $('key-error').textContent = `${error.code}: ${error.message}`;
    $('key-panel').hidden = false;
    return;
  }
  $('key-panel').hidden = true;
  $('app').hidden = false;
  $('forget-key').hidden = false;
  feed.start();
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key-input').value.trim();
  if (!key) {
    $('key-error').textContent = 'Enter the API key.';
    return;
  }
  apiKey.set(key);
  $('key-input').value = '';
  void open();
});

$('forget-key').addEventListener('click', () => askForKey(''));

if (apiKey.get()) void open();
else askForKey('');
