// Time in replay: Unix-epoch ns (bigint) to ISO 8601 with microseconds, and --since/--until parsing.
import { UserError } from "../errors.js";

/** ISO 8601 UTC with microseconds, e.g. 2026-11-24T03:08:58.319123Z. */
export function isoFromNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const us = Number((ns / 1000n) % 1000n);
  const base = new Date(Number(ms)).toISOString(); // …sss Z
  return `${base.slice(0, -1)}${String(us < 0 ? 0 : us).padStart(3, "0")}Z`;
}

/** Microseconds since the epoch, as Timesketch's `timestamp` wants. */
export function microsFromNs(ns: bigint): number {
  return Number(ns / 1000n);
}

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Parses a --since/--until bound: `+5s`/`+1.5m`/`+250ms` (relative to `sessionStartNs`) or an ISO 8601 time.
 * Throws UserError(bad-input) on anything else.
 */
export function parseTimeBound(text: string, sessionStartNs: bigint, flag: string): bigint {
  const rel = /^\+(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)?$/.exec(text.trim());
  if (rel) {
    const [whole, frac = ""] = rel[1]!.split(".");
    const unit = UNIT_NS[rel[2] ?? "s"]!;
    const scale = 10n ** BigInt(frac.length);
    return sessionStartNs + ((BigInt(whole!) * scale + BigInt(frac || "0")) * unit) / scale;
  }
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text.trim());
  if (iso) {
    const ms = Date.parse(`${iso[1]}${iso[3]}`);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((iso[2] ?? "").padEnd(9, "0") || "0");
  }
  throw new UserError(
    `${flag} ${text}: give a time like 2026-11-24T03:09:00Z or an offset from the session start like +5s`,
    "bad-input",
  );
}

/** A short duration for text views: 850ms, 12.3s, 4m05s. */
export function formatDurationNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  if (ms < 1) return `${Number(ns / 1000n)}us`;
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
