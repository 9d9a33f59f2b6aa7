// `--at TIME`: the state at one moment, as `ps` and `ss` would have shown it then: processes alive with
// their image at that time, connections open, sockets listening, files being written.
import { connectionJson, fileJson, processJson } from "./document.js";
import { imageAt } from "./focus.js";
import type { Connection, ExecImage, FileActivity, ProcessEntity, Replay } from "./model.js";
import { byStart, isMidExec } from "./processes.js";
import { isoFromNs } from "./time.js";

export interface StateAt {
  atNs: bigint;
  /** The earliest session start, for `+5s`-style offsets in the text. */
  startNs: bigint | undefined;
  /** Whether `atNs` lies inside some session's recorded span: outside it, nothing can be said. */
  inside: boolean;
  /** `ppid`: the parent then; a process re-parented later still had its first parent. */
  processes: Array<{ process: ProcessEntity; image: ExecImage | undefined; ppid: number }>;
  listening: Connection[];
  connections: Connection[];
  files: FileActivity[];
}

/** A connection's first known moment: its attempt or establishment; one the start snapshot found was open before. */
function opened(c: Connection): bigint | undefined {
  return c.origin === "snapshot" ? 0n : (c.startNs ?? c.establishedNs);
}

function openAt(c: Connection, atNs: bigint): boolean {
  const from = opened(c);
  return from !== undefined && from <= atNs && (c.endNs === undefined || c.endNs > atNs);
}

function ppidAt(p: ProcessEntity, byId: ReadonlyMap<string, ProcessEntity>, atNs: bigint): number {
  const first = p.reparentedFrom === undefined ? undefined : byId.get(p.reparentedFrom);
  return first && (first.exitNs === undefined || first.exitNs > atNs) ? first.pid : p.ppid;
}

export function stateAt(r: Replay, atNs: bigint): StateAt {
  const starts = r.sessions.map((s) => s.startNs).filter((x): x is bigint => x !== undefined);
  const startNs = starts.length > 0 ? starts.reduce((a, b) => (b < a ? b : a)) : undefined;
  const inside = r.sessions.some(
    (s) => s.startNs !== undefined && s.startNs <= atNs && atNs <= (s.endNs ?? s.lastRecordNs ?? s.startNs),
  );
  const alive = r.processes
    .filter((p) => p.startNs <= atNs && (p.exitNs === undefined || p.exitNs > atNs))
    .sort(byStart);
  const open = r.connections.filter((c) => openAt(c, atNs));
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  return {
    atNs,
    startNs,
    inside,
    processes: alive.map((p) => ({ process: p, image: imageAt(p, atNs), ppid: ppidAt(p, byId, atNs) })),
    listening: open.filter((c) => c.direction === "listen" || c.outcome === "listening"),
    connections: open.filter((c) => c.direction !== "listen" && c.outcome !== "listening"),
    files: r.files.filter(
      (f) => f.firstNs !== undefined && f.lastNs !== undefined && f.firstNs <= atNs && atNs <= f.lastNs,
    ),
  };
}

/** The JSON document of `--at TIME --format json`. */
export function stateJson(s: StateAt) {
  return {
    at: isoFromNs(s.atNs),
    insideRecording: s.inside,
    processes: s.processes.map(({ process, image, ppid }) => ({
      ...processJson(process),
      ppidThen: ppid,
      image:
        image === undefined
          ? null
          : {
              time: isoFromNs(image.timeNs),
              filename: image.filename,
              argv: image.argv,
              cwd: image.cwd ?? null,
              origin: image.origin,
              midExec: isMidExec(image),
            },
    })),
    listening: s.listening.map(connectionJson),
    connections: s.connections.map(connectionJson),
    files: s.files.map(fileJson),
  };
}
