// `--view timeline`, `connections` and `files`: one line per event, connection or file at 80 columns.
import { shownEnd } from "../addr.js";
import { latencyMs } from "../document.js";
import { timelineEvents } from "../events.js";
import type { Replay } from "../model.js";
import { isoFromNs } from "../time.js";
import { ownerColumn } from "./owner.js";
import { bold, cutOffBanners, dim, fit, line, pad, red, type Piece } from "./style.js";

/** HH:MM:SS.mmmmmm of an ISO time: the date is in the header line. */
function clock(ns: bigint): string {
  return isoFromNs(ns).slice(11, 26);
}

export function timelineLines(r: Replay): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  const events = timelineEvents(r);
  if (events.length > 0) lines.push(dim(`times UTC, ${isoFromNs(events[0]!.timeNs).slice(0, 10)}`));
  for (const e of events) {
    const text = line`${clock(e.timeNs)} ${e.kind.padEnd(22)} ${e.message}`;
    const bad =
      e.kind === "session.cutoff" ||
      e.kind === "loss" ||
      e.kind === "connection.failed" ||
      (e.kind === "process.exit" && e.details.exitCode !== 0);
    lines.push(bad ? red(fit(text, 80)) : fit(text, 80));
  }
  return lines;
}

export function connectionLines(r: Replay): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  const ownerOf = (id: string | undefined) => (id === undefined ? undefined : byId.get(id));
  const owner = ownerColumn(r.connections.map((c) => ownerOf(c.processId)));
  lines.push(bold(`start            pid   comm         ${owner?.header ?? ""}dir proto remote                outcome`));
  for (const c of r.connections) {
    const t = c.startNs ?? c.establishedNs;
    const lat = latencyMs(c);
    const tail = [
      lat === null ? "" : `${lat.toFixed(1)}ms`,
      c.retransmits ? `rtx ${c.retransmits}` : "",
      c.resets ? `rst ${c.resets}` : "",
      c.errno !== undefined ? `errno ${c.errno}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    const dir =
      c.direction === "inbound" ? "in " : c.direction === "outbound" ? "out" : c.direction === "listen" ? "lsn" : "?  ";
    const row = line`${t === undefined ? "(snapshot)     " : clock(t)}  ${String(c.pid).padStart(5)} ${pad(c.comm || "?", 12)} ${owner?.cell(ownerOf(c.processId)) ?? ""}${dir} ${c.protocol.padEnd(5)} ${pad(shownEnd(c), 21)} ${c.outcome}${tail ? ` ${tail}` : ""}`;
    lines.push(
      c.outcome === "established" || c.outcome === "connected" || c.outcome === "listening" || c.outcome === "closing"
        ? fit(row, 80)
        : red(fit(row, 80)),
    );
  }
  if (r.connections.length === 0) lines.push("(no connections)");
  return lines;
}

export function fileLines(r: Replay): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  const owner = ownerColumn(r.files.map((f) => byId.get(f.processId)));
  lines.push(bold(`first            pid   comm         ${owner?.header ?? ""}   bytes  writes path`));
  for (const f of r.files) {
    const t = f.firstNs ?? f.ops[0]?.timeNs;
    const flags = [
      f.deleted ? "deleted" : "",
      f.renamedTo ? `→ ${f.renamedTo}` : "",
      ...f.ops.filter((o) => o.kind === "chmod").map((o) => `chmod ${(o.mode ?? 0).toString(8)}`),
    ]
      .filter(Boolean)
      .join(", ");
    lines.push(
      fit(
        line`${t === undefined ? "-              " : clock(t)}  ${String(f.pid).padStart(5)} ${pad(f.comm, 12)} ${owner?.cell(byId.get(f.processId)) ?? ""}${String(f.bytes).padStart(8)} ${String(f.writes).padStart(7)} ${f.path}${flags ? ` (${flags})` : ""}`,
        80,
      ),
    );
  }
  if (r.files.length === 0) lines.push("(no files)");
  return lines;
}
