/* global document */
// The job store (id → JobView) and its two lists: running jobs with a live progress bar, and the history.

import { formatBytes, formatCount, formatDuration, formatPercent, formatRate, formatSeconds, formatTime } from './format.js';

const UNFINISHED = new Set(['waiting', 'delayed', 'active']);
const HISTORY_LIMIT = 50;

/** Builds an element: el('p', { class: 'x' }, 'text', child). Text goes in as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** "source → local", "dump.sql → local"… from a job's payload (names only: payloads never hold URLs). */
export function describeJob(job) {
  const p = job.payload ?? {};
  switch (job.type) {
    case 'sync': return `${p.source ?? '?'} → ${p.target ?? '?'}`;
    case 'export': return `${p.source ?? '?'}${p.file ? ` → ${p.file}` : ''}`;
    case 'import': return `${p.file ?? '?'} → ${p.target ?? '?'}`;
    case 'restore': return `${p.backupId ?? '?'} → ${p.target ?? 'its environment'}`;
    case 'reindex': return `${p.environment ?? '?'}${p.collections ? ` (${p.collections.join(', ')})` : ''}`;
    case 'backup': return p.target ?? '?';
    default: return '';
  }
}

const stat = (term, value) => el('div', {}, el('dt', {}, term), el('dd', {}, value));

function progressStats(job) {
  const p = job.progress;
  if (!p) return [stat('phase', job.state === 'active' ? 'starting' : job.state)];
  const phaseIndex = p.phases ? p.phases.indexOf(p.phase) : -1;
  const items = [stat('phase', phaseIndex >= 0 ? `${p.phase} (${phaseIndex + 1}/${p.phases.length})` : p.phase)];
  if (p.table) items.push(stat('table', p.tablesTotal ? `${p.table} (${p.tablesDone + 1 > p.tablesTotal ? p.tablesTotal : p.tablesDone + 1}/${p.tablesTotal})` : p.table));
  else if (p.tablesTotal) items.push(stat('tables', `${p.tablesDone}/${p.tablesTotal}`));
  items.push(stat('rows', formatCount(p.rowsDone)));
  items.push(stat('bytes', p.bytesTotal ? `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}` : formatBytes(p.bytesDone)));
  items.push(stat('rate', formatRate(p.bytesPerSecond)));
  items.push(stat('ETA', p.etaSeconds === null || p.etaSeconds === undefined ? '–' : formatSeconds(p.etaSeconds)));
  return items;
}

function resultStats(job) {
  const r = job.result ?? {};
  const items = [];
  if (job.startedAt && job.finishedAt) items.push(stat('took', formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt))));
  if (r.export) items.push(stat('exported', `${formatCount(r.export.rows)} rows, ${r.export.tables} tables in ${formatDuration(r.export.durationMs)}`));
  if (r.type === 'export') items.push(stat('exported', `${formatCount(r.rows)} rows, ${r.tables} tables → ${r.file} (${formatBytes(r.fileBytes)})`));
  if (r.import) {
    items.push(stat('imported', `${formatCount(r.import.rows)} rows, ${r.import.tables} tables (${r.import.mode}) in ${formatDuration(r.import.durationMs)}`));
    items.push(stat('verified', r.import.verified ? 'yes' : 'no manifest'));
  }
  if (r.type === 'backup') items.push(stat('backup', `${r.backupId}: ${formatCount(r.rows)} rows`));
  if (r.type === 'reindex') items.push(stat('collections', r.collections.join(', ')));
  if (r.dumpFile) items.push(stat('dump', r.dumpFile));
  if (r.reindex) items.push(stat('search index', r.reindex.status === 'completed' ? `${r.reindex.collections.join(', ')} (${formatCount(r.reindex.documents)} documents)` : `${r.reindex.status}${r.reindex.followUpJobId ? `, reindex #${r.reindex.followUpJobId} queued` : ''}`));
  // a job that failed or was cancelled after its import committed: the target holds the new data all the same
  if (job.targetWritten && job.state !== 'completed') items.push(stat('target', `written${job.backupId ? ` (backup ${job.backupId})` : ''}`));
  for (const warning of r.warnings ?? []) items.push(stat('warning', warning));
  const related = job.related ?? {};
  if (related.retryOf) items.push(stat('retry of', `#${related.retryOf}`));
  if (related.reindexFor) items.push(stat('follows up', `#${related.reindexFor}`));
  return items;
}

/** The backup a finished job leaves to restore (taken before its import), if any. */
export function backupOf(job) {
  return job.result?.import?.backupId ?? (job.result?.type === 'backup' ? job.result.backupId : null) ?? null;
}

/**
 * Renders jobs into `running` and `history` (<ul>s). `actions` holds the callbacks the buttons call:
 * cancel(job), retry(job), acceptDataLoss(job), restore(job, backupId, { confirm, acceptDataLoss }) → Promise, and
 * needsConfirm(envName) → boolean (protected or remote target).
 */
export function createJobList({ running, history, runningEmpty, historyEmpty, announcer, actions }) {
  const jobs = new Map();
  const cards = new Map();

  function announce(text) {
    // replacing the text is what screen readers pick up; a short history stays for context
    announcer.replaceChildren(el('p', {}, text));
  }

  function actionsFor(job, card) {
    const box = el('div', { class: 'job-actions' });
    const title = `${job.type} #${job.id}`;
    if (UNFINISHED.has(job.state)) {
      const button = el('button', { type: 'button', class: 'danger', 'aria-label': `Cancel ${title}` }, 'Cancel');
      button.addEventListener('click', async () => {
        button.disabled = true;
        button.textContent = 'Cancelling…';
        try {
          await actions.cancel(job);
        } catch (error) {
          button.disabled = false;
          button.textContent = 'Cancel';
          showCardError(card, error);
        }
      });
      box.append(button);
      return box;
    }
    const code = job.error?.code;
    if (job.state === 'failed' && code === 'JOBS_CONFIRMATION_REQUIRED' && ['sync', 'import', 'restore'].includes(job.type) && !job.payload?.acceptDataLoss) {
      const retry = el('button', { type: 'button', class: 'secondary' }, 'Run again, accepting data loss');
      retry.addEventListener('click', async () => {
        retry.disabled = true;
        try {
          await actions.acceptDataLoss(job);
        } catch (error) {
          showCardError(card, error);
        } finally {
          retry.disabled = false;
        }
      });
      box.append(retry);
    }
    if (job.state === 'failed' || job.state === 'cancelled') {
      const retriedBy = job.related?.retriedBy;
      if (retriedBy) box.append(el('span', { class: 'note' }, `retried as #${retriedBy}`));
      else {
        const retry = el('button', { type: 'button', class: 'secondary', 'aria-label': `Retry ${title}` }, 'Retry');
        retry.addEventListener('click', async () => {
          retry.disabled = true;
          retry.textContent = 'Retrying…';
          try {
            const started = await actions.retry(job);
            announce(`${job.type} #${started.id} started again (retry of #${job.id})`);
          } catch (error) {
            retry.disabled = false;
            retry.textContent = 'Retry';
            showCardError(card, error);
          }
        });
        box.append(retry);
      }
    }
    const backupId = job.state === 'completed' ? backupOf(job) : null;
    if (backupId) box.append(restoreControl(job, backupId, card));
    return box;
  }

  function restoreControl(job, backupId, card) {
    const target = job.payload?.target ?? job.result?.target;
    const wrap = el('div', { class: 'inline' });
    const open = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Restore backup…');
    const confirmId = `restore-confirm-${job.id}`;
    const lossId = `restore-loss-${job.id}`;
    const needsConfirm = target ? actions.needsConfirm(target) : false;
    const confirm = el('input', { id: confirmId, autocomplete: 'off', spellcheck: 'false' });
    const loss = el('input', { id: lossId, type: 'checkbox' });
    const go = el('button', { type: 'submit' }, `Restore ${backupId}`);
    const form = el('form', { class: 'inline', hidden: true },
      needsConfirm ? el('div', {}, el('label', { for: confirmId }, `Type ${target} to confirm`), confirm) : null,
      el('label', { for: lossId, class: 'check' }, loss, ' accept data loss when restoring'),
      go);
    open.addEventListener('click', () => {
      form.hidden = !form.hidden;
      open.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) (needsConfirm ? confirm : go).focus();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      go.disabled = true;
      try {
        const started = await actions.restore(job, backupId, { confirm: confirm.value.trim() || undefined, acceptDataLoss: loss.checked || undefined });
        announce(`restore #${started.id} started`);
        form.hidden = true;
        open.setAttribute('aria-expanded', 'false');
      } catch (error) {
        showCardError(card, error);
      } finally {
        go.disabled = false;
      }
    });
    wrap.append(open, form);
    return wrap;
  }

  function showCardError(card, error) {
    const box = card.querySelector('.job-error');
    box.hidden = false;
    box.replaceChildren(el('code', {}, error.code ?? 'ERROR'), ` ${error.message}`);
  }

  function createCard(job) {
    const titleId = `job-title-${job.id}`;
    const card = el('li', { class: 'job', id: `job-${job.id}`, 'data-job-id': job.id, 'aria-labelledby': titleId },
      el('div', { class: 'job-head' },
        el('h3', { class: 'job-title', id: titleId }),
        el('span', { class: 'state' }),
        el('span', { class: 'job-time' })),
      el('div', { class: 'bar' },
        el('progress', { max: 100, value: 0, 'aria-labelledby': titleId }),
        el('span', { class: 'percent', 'aria-hidden': 'true' })),
      el('dl', { class: 'stats' }),
      el('p', { class: 'job-error', role: 'alert', hidden: true }),
      el('div', { class: 'job-actions' }));
    cards.set(job.id, card);
    return card;
  }

  function updateCard(card, job) {
    const unfinished = UNFINISHED.has(job.state);
    card.dataset.state = job.state;
    card.querySelector('.job-title').textContent = `${job.type} #${job.id} · ${describeJob(job)}`;
    const state = card.querySelector('.state');
    state.textContent = job.state;
    state.dataset.state = job.state;
    card.querySelector('.job-time').textContent = unfinished
      ? (job.startedAt ? `started ${formatTime(job.startedAt)}` : `queued ${formatTime(job.createdAt)}`)
      : `finished ${formatTime(job.finishedAt ?? job.createdAt)}`;
    // finished jobs keep their bar: full when completed, where it stopped when failed or cancelled
    const bar = card.querySelector('.bar');
    const percent = Math.max(0, Math.min(100, job.state === 'completed' ? 100 : job.percent ?? 0));
    const progress = bar.querySelector('progress');
    progress.value = percent;
    progress.setAttribute('aria-valuetext', `${formatPercent(percent)}${unfinished && job.progress?.phase ? `, ${job.progress.phase}` : ''}`);
    bar.querySelector('.percent').textContent = formatPercent(percent);
    card.querySelector('.stats').replaceChildren(...(unfinished ? progressStats(job) : resultStats(job)));
    const error = card.querySelector('.job-error');
    if (job.error) {
      error.hidden = false;
      error.replaceChildren(el('code', {}, job.error.code), ` ${job.error.message}`);
    } else if (unfinished && job.lastError) {
      // waiting for its next attempt: why the last one failed
      error.hidden = false;
      error.replaceChildren(`attempt ${job.attempts} of ${job.maxAttempts} failed: `, el('code', {}, job.lastError.code), ` ${job.lastError.message}`);
    } else if (unfinished) {
      error.hidden = true;
    }
    // buttons are rebuilt only when the state changes, so focus is not lost to progress updates
    const actionsKey = `${job.state}|${job.error?.code ?? ''}|${backupOf(job) ?? ''}|${job.related?.retriedBy ?? ''}`;
    if (card.dataset.actionsKey !== actionsKey) {
      card.dataset.actionsKey = actionsKey;
      card.querySelector('.job-actions').replaceWith(actionsFor(job, card));
    }
  }

  const newestFirst = (a, b) => (Date.parse(b.createdAt) - Date.parse(a.createdAt)) || (Number(b.id) - Number(a.id)) || String(b.id).localeCompare(String(a.id));

  function place(card, job) {
    const list = UNFINISHED.has(job.state) ? running : history;
    const siblings = [...list.children].filter((c) => c !== card);
    const before = siblings.find((c) => {
      const other = jobs.get(c.dataset.jobId);
      return other && newestFirst(job, other) < 0;
    });
    if (card.parentElement === list && card.nextElementSibling === (before ?? null)) return;
    const focused = card.contains(document.activeElement) ? document.activeElement : null;
    list.insertBefore(card, before ?? null);
    if (focused && focused.isConnected) focused.focus();
    while (history.children.length > HISTORY_LIMIT) {
      const last = history.lastElementChild;
      cards.delete(last.dataset.jobId);
      jobs.delete(last.dataset.jobId);
      last.remove();
    }
  }

  function refreshEmpty() {
    runningEmpty.hidden = running.children.length > 0;
    historyEmpty.hidden = history.children.length > 0;
  }

  function render(job, previous) {
    const card = cards.get(job.id) ?? createCard(job);
    updateCard(card, job);
    place(card, job);
    refreshEmpty();
    if (previous && previous.state !== job.state) {
      const error = job.error ? `: ${job.error.code} ${job.error.message}` : '';
      announce(`${job.type} #${job.id} ${describeJob(job)}: ${job.state}${error}`);
    } else if (!previous && UNFINISHED.has(job.state)) {
      announce(`${job.type} #${job.id} ${describeJob(job)}: ${job.state}`);
    }
  }

  return {
    get: (id) => jobs.get(id),
    unfinishedIds: () => [...jobs.values()].filter((j) => UNFINISHED.has(j.state)).map((j) => j.id),
    /** a full JobView (HTTP answer or snapshot) */
    upsert(view) {
      const previous = jobs.get(view.id);
      let job = view;
      // an HTTP answer read before a later progress event must not move the bar back
      if (previous && previous.state === 'active' && view.state === 'active' && (previous.percent ?? 0) > (view.percent ?? 0)) {
        job = { ...view, percent: previous.percent, progress: previous.progress };
      }
      jobs.set(job.id, job);
      render(job, previous);
    },
    /** a `progress` message; false when the job is unknown here (the caller fetches it) */
    progress(message) {
      const previous = jobs.get(message.jobId);
      if (!previous) return false;
      if (!UNFINISHED.has(previous.state)) return true;
      const job = { ...previous, state: 'active', percent: message.percent, progress: message.progress };
      jobs.set(job.id, job);
      render(job, previous);
      return true;
    },
    /** a `state` message; false when the job is unknown here (the caller fetches it) */
    state(message) {
      const previous = jobs.get(message.jobId);
      if (!previous) return false;
      const job = { ...previous, state: message.state };
      if (message.percent !== undefined) job.percent = message.percent;
      if (message.result !== undefined) job.result = message.result;
      if (message.error !== undefined) job.error = message.error;
      if (message.state === 'active' && !job.startedAt) job.startedAt = new Date().toISOString();
      if (!UNFINISHED.has(message.state) && !job.finishedAt) job.finishedAt = new Date().toISOString();
      jobs.set(job.id, job);
      render(job, previous);
      return true;
    },
    remove(id) {
      jobs.delete(id);
      cards.get(id)?.remove();
      cards.delete(id);
      refreshEmpty();
    },
  };
}
