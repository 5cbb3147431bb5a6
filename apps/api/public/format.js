// Number, size, rate and time formatting for the dashboard.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 12345678 → "11.8 MB" */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** 1234567 → "1,234,567" */
export function formatCount(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

/** 75 → "1 min 15 s" */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return '< 1 s';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** milliseconds → "820 ms" / "1 min 15 s" */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : formatSeconds(ms / 1000);
}

/** bytes per second → "3.2 MB/s" */
export function formatRate(bytesPerSecond) {
  return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '–';
}

/** overall percent → "47.5 %" (one decimal below 100) */
export function formatPercent(percent) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  return `${p >= 100 ? 100 : p.toFixed(1)} %`;
}

/** ISO time → local "HH:MM:SS" today, else date and time */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}
