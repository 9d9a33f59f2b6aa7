// `--view timeline`, `connections` and `files`: one line per event, connection or file at 80 columns.
import { shownEnd } from "../addr.js";
import { latencyMs } from "../document.js";
import { timelineEvents } from "../events.js";
import type { Replay } from "../model.js";
import { isoFromNs } from "../time.js";
import { cutOffBanners, fit, type Style } from "./style.js";

/** HH:MM:SS.mmmmmm of an ISO time: the date is in the header line. */
function clock(ns: bigint): string {
  return isoFromNs(ns).slice(11, 26);
}

export function renderTimeline(r: Replay, st: Style): string {
  const lines = [...cutOffBanners(r.sessions, st, isoFromNs)];
  const events = timelineEvents(r);
  if (events.length > 0) lines.push(st.dim(`times UTC, ${isoFromNs(events[0]!.timeNs).slice(0, 10)}`));
  for (const e of events) {
    const text = `${clock(e.timeNs)} ${e.kind.padEnd(22)} ${e.message}`;
    const bad = e.kind === "session.cutoff" || e.kind === "loss" || e.kind === "connection.failed" || (e.kind === "process.exit" && e.details.exitCode !== 0);
    lines.push(bad ? st.red(fit(text, 80)) : fit(text, 80));
  }
  return lines.join("\n") + "\n";
}

export function renderConnections(r: Replay, st: Style): string {
  const lines = [...cutOffBanners(r.sessions, st, isoFromNs)];
  lines.push(st.bold("start            pid   comm         dir proto remote                outcome"));
  for (const c of r.connections) {
    const t = c.startNs ?? c.establishedNs;
    const lat = latencyMs(c);
    const tail = [lat === null ? "" : `${lat.toFixed(1)}ms`, c.retransmits ? `rtx ${c.retransmits}` : "", c.resets ? `rst ${c.resets}` : "", c.errno !== undefined ? `errno ${c.errno}` : ""].filter(Boolean).join(" ");
    const dir = c.direction === "inbound" ? "in " : c.direction === "outbound" ? "out" : c.direction === "listen" ? "lsn" : "?  ";
    const row = `${t === undefined ? "(snapshot)     " : clock(t)}  ${String(c.pid).padStart(5)} ${fit(c.comm || "?", 12).padEnd(12)} ${dir} ${c.protocol.padEnd(5)} ${fit(shownEnd(c), 21).padEnd(21)} ${c.outcome}${tail ? ` ${tail}` : ""}`;
    lines.push(c.outcome === "established" || c.outcome === "connected" || c.outcome === "listening" || c.outcome === "closing" ? fit(row, 80) : st.red(fit(row, 80)));
  }
  if (r.connections.length === 0) lines.push("(no connections)");
  return lines.join("\n") + "\n";
}

export function renderFiles(r: Replay, st: Style): string {
  const lines = [...cutOffBanners(r.sessions, st, isoFromNs)];
  lines.push(st.bold("first            pid   comm            bytes  writes path"));
  for (const f of r.files) {
    const t = f.firstNs ?? f.ops[0]?.timeNs;
    const flags = [f.deleted ? "deleted" : "", f.renamedTo ? `→ ${f.renamedTo}` : "", ...f.ops.filter((o) => o.kind === "chmod").map((o) => `chmod ${(o.mode ?? 0).toString(8)}`)].filter(Boolean).join(", ");
    lines.push(fit(`${t === undefined ? "-              " : clock(t)}  ${String(f.pid).padStart(5)} ${fit(f.comm, 12).padEnd(12)} ${String(f.bytes).padStart(8)} ${String(f.writes).padStart(7)} ${f.path}${flags ? ` (${flags})` : ""}`, 80));
  }
  if (r.files.length === 0) lines.push("(no files)");
  return lines.join("\n") + "\n";
}

