/* global WebSocket, location, window */
// The /ws connection: a fresh ticket per attempt, subscribe-all, reconnect with backoff, dead-socket detection.

import { api } from './api-client.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;
/** the server pings every 30 s, but a dropped network may close nothing: our own ping detects it */
const PING_EVERY_MS = 15_000;
const SILENCE_LIMIT_MS = 10_000;

/**
 * Keeps one live socket. `onMessage(message)` gets every server message (a snapshot first after each connect);
 * `onStatus(state)` gets 'connecting' | 'live' | 'reconnecting' | 'offline'; `onUnauthorized()` when the key
 * is refused (then it stops until start() is called again).
 */
export function createLiveFeed({ onMessage, onStatus, onUnauthorized }) {
  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let silenceTimer = null;
  let running = false;

  const clearTimers = () => {
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    clearTimeout(silenceTimer);
    retryTimer = pingTimer = silenceTimer = null;
  };

  function scheduleRetry() {
    if (!running || retryTimer) return;
    onStatus('reconnecting');
    // exponential backoff with jitter, so many tabs do not come back all at once
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    attempt += 1;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delay);
  }

  async function connect() {
    if (!running) return;
    onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
    let ticket;
    try {
      ({ ticket } = await api.wsTicket());
    } catch (error) {
      if (error.status === 401) {
        stop();
        onUnauthorized();
        return;
      }
      scheduleRetry();
      return;
    }
    if (!running) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws?ticket=${encodeURIComponent(ticket)}`);
    socket = ws;
    const heard = () => {
      clearTimeout(silenceTimer);
      silenceTimer = null;
    };
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', all: true }));
      pingTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify({ type: 'ping' }));
        if (!silenceTimer) silenceTimer = setTimeout(() => ws.close(4000, 'no answer'), SILENCE_LIMIT_MS);
      }, PING_EVERY_MS);
    });
    ws.addEventListener('message', (event) => {
      heard();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'snapshot') {
        attempt = 0;
        onStatus('live');
      }
      onMessage(message);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      clearTimers();
      scheduleRetry();
    });
  }

  function start() {
    if (running) return;
    running = true;
    attempt = 0;
    void connect();
  }

  function stop() {
    running = false;
    clearTimers();
    const ws = socket;
    socket = null;
    if (ws) ws.close(1000, 'bye');
    onStatus('offline');
  }

  // back online: skip the rest of the backoff
  window.addEventListener('online', () => {
    if (!running || socket) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    void connect();
  });

  return { start, stop };
}
