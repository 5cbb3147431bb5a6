/* global sessionStorage */
// The api's HTTP routes, with the API key from this tab's sessionStorage only.

const KEY_STORAGE = 'mbsync.apiKey';

/** A non-2xx answer: the api's `{ error: { code, message, details } }`. */
export class ApiRequestError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.code = code;
    this.details = details ?? {};
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (key) => sessionStorage.setItem(KEY_STORAGE, key),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

/** Calls the api with the key; resolves with the JSON body, rejects with ApiRequestError (status 0: network). */
export async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiRequestError(0, 'NETWORK', 'the server cannot be reached');
  }
  const json = await response.json().catch(() => null);
  if (response.ok) return json;
  const error = json && json.error ? json.error : { code: `HTTP_${response.status}`, message: response.statusText || 'request failed' };
  throw new ApiRequestError(response.status, error.code, error.message, error.details);
}

export const api = {
  environments: () => request('GET', '/api/environments'),
  dumps: () => request('GET', '/api/dumps'),
  jobs: (query = 'limit=20') => request('GET', `/api/jobs?${query}`),
  job: (id) => request('GET', `/api/jobs/${encodeURIComponent(id)}`),
  cancel: (id) => request('DELETE', `/api/jobs/${encodeURIComponent(id)}`),
  retry: (id) => request('POST', `/api/jobs/${encodeURIComponent(id)}/retry`),
  start: (type, body) => request('POST', `/api/sync/${type}`, body),
  restore: (backupId, body) => request('POST', `/api/backups/${encodeURIComponent(backupId)}/restore`, body),
  schemaDiff: (from, to) => request('GET', `/api/schema/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
  wsTicket: () => request('POST', '/api/ws-ticket'),
};
