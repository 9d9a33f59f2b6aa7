// Parses the human units runbooks and flags use: durations ("90s", "5m", "1h30m") and sizes ("512MiB").

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Milliseconds in a duration like "10s", "2m30s", "1h" or a bare number of seconds. Returns undefined when malformed. */
export function parseDurationMs(text: string | number): number | undefined {
  const ms = parseDurationText(text);
  // 1e308 or a 400-digit number would come out as Infinity or lose its digits: malformed, not "forever".
  return ms !== undefined && Number.isFinite(ms) && ms <= Number.MAX_SAFE_INTEGER ? ms : undefined;
}

function parseDurationText(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const s = text.trim().toLowerCase();
  if (s.length > MAX_UNIT_TEXT) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== s) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS_MS[p[2]!]!, 0);
}

/** Longer duration or size text is malformed: "1h30m15s250ms" is 13 characters. */
const MAX_UNIT_TEXT = 32;

/** Bytes in a size like "64MiB", "1GB", "4096". Returns undefined when malformed. */
export function parseSizeBytes(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  if (text.length > MAX_UNIT_TEXT) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
