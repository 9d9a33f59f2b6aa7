// What stands out in a replay, for the head of the HTML report: failed connections, non-zero exits, deleted
// files (executed-then-deleted ones first), top talkers and losses; and each process's share of them, so the
// report can put the lanes that hold them first.
import type { Connection, ProcessEntity, Replay } from "./model.js";
import { isKernelThread } from "./processes.js";

/** A connection that did not get through: it was refused, timed out, failed or was given up on. */
export function failedConnection(c: Connection): boolean {
  return c.origin !== "snapshot" && ["refused", "timed out", "error", "aborted"].includes(c.outcome);
}

/** A process that ended with a non-zero status or by a signal (kernel threads left out). */
export function failedExit(p: ProcessEntity): boolean {
  return p.exitNs !== undefined && !isKernelThread(p) && ((p.exitCode ?? 0) !== 0 || p.exitSignal !== undefined);
}

export interface DeletedPath {
  path: string;
  /** The process that deleted it (its first successful unlink). */
  by: ProcessEntity | undefined;
  timeNs: bigint;
  /** Processes that exec'd this path before it was deleted: a dropper cleaning up after its payload. */
  executedBy: ProcessEntity[];
}

export interface Talker {
  p: ProcessEntity;
  connections: number;
  retransmits: number;
}

export interface Standout {
  failedConnections: Connection[];
  failedExits: ProcessEntity[];
  /** Deleted paths, the executed-then-deleted ones first, then by time. */
  deleted: DeletedPath[];
  /** Processes with the most connections made or accepted during the recording (at most 5). */
  talkers: Talker[];
  lostEvents: bigint;
  lossGaps: number;
  /**
   * process id → which of the above it takes part in, weighed (an executed-then-deleted file most); each
   * kind counts once per process, so a busy process does not outweigh a strange one.
   */
  weight: Map<string, number>;
}

const TALKERS = 5;

// What a process takes part in (bits), and what each weighs.
const FAILED_CONNECTION = 1;
const FAILED_EXIT = 2;
const DELETED = 4;
const EXECUTED_DELETED = 8;
const CONNECTED = 16;
const WROTE = 32;
const WEIGHTS: ReadonlyArray<[number, number]> = [
  [EXECUTED_DELETED, 8],
  [DELETED, 3],
  [FAILED_CONNECTION, 2],
  [FAILED_EXIT, 2],
  [CONNECTED, 1],
  [WROTE, 1],
];

export function standout(r: Replay): Standout {
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  const kinds = new Map<string, number>();
  const add = (id: string | undefined, kind: number) => {
    if (id !== undefined) kinds.set(id, (kinds.get(id) ?? 0) | kind);
  };

  const failedConnections = r.connections.filter(failedConnection);
  for (const c of failedConnections) add(c.processId, FAILED_CONNECTION);
  const failedExits = r.processes.filter(failedExit);
  for (const p of failedExits) add(p.id, FAILED_EXIT);

  // Exec'd paths, by path, with who exec'd them and when (observed execs only: a snapshot image ran before).
  const execs = new Map<string, Array<{ p: ProcessEntity; timeNs: bigint }>>();
  for (const p of r.processes)
    for (const e of p.execs) {
      if (e.origin === "snapshot") continue;
      const key = `${p.host}\0${e.filename}`;
      const l = execs.get(key);
      if (l) l.push({ p, timeNs: e.timeNs });
      else execs.set(key, [{ p, timeNs: e.timeNs }]);
    }
  const deletedBy = new Map<string, DeletedPath>();
  for (const f of r.files)
    for (const op of f.ops) {
      if (op.kind !== "delete" || op.ret < 0) continue;
      const key = `${f.host}\0${op.path}`;
      const seen = deletedBy.get(key);
      if (seen && seen.timeNs <= op.timeNs) continue;
      const by = byId.get(op.actorId ?? f.processId);
      const executedBy = (execs.get(key) ?? []).filter((x) => x.timeNs <= op.timeNs).map((x) => x.p);
      deletedBy.set(key, { path: op.path, by, timeNs: op.timeNs, executedBy });
    }
  const deleted = [...deletedBy.values()].sort(
    (a, b) =>
      Number(b.executedBy.length > 0) - Number(a.executedBy.length > 0) ||
      (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0),
  );
  for (const d of deleted) {
    add(d.by?.id, d.executedBy.length > 0 ? EXECUTED_DELETED : DELETED);
    for (const p of d.executedBy) add(p.id, EXECUTED_DELETED);
  }

  const counts = new Map<string, Talker>();
  for (const c of r.connections) {
    if (c.origin === "snapshot" || c.direction === "listen" || c.processId === undefined) continue;
    const p = byId.get(c.processId);
    if (!p) continue;
    const t = counts.get(p.id) ?? { p, connections: 0, retransmits: 0 };
    t.connections++;
    t.retransmits += c.retransmits;
    counts.set(p.id, t);
    add(p.id, CONNECTED);
  }
  const talkers = [...counts.values()]
    .sort((a, b) => b.connections - a.connections || b.retransmits - a.retransmits || a.p.pid - b.p.pid)
    .slice(0, TALKERS);
  for (const f of r.files) if (f.firstNs !== undefined) add(f.processId, WROTE);

  const weight = new Map<string, number>();
  for (const [id, k] of kinds) {
    let w = 0;
    for (const [bit, points] of WEIGHTS) if (k & bit) w += points;
    weight.set(id, w);
  }
  // Each list shows its most telling entries first: those of the processes that take part in the most.
  const heavier = <T>(list: T[], id: (x: T) => string | undefined): T[] =>
    list
      .map((x, i) => ({ x, i, w: weight.get(id(x) ?? "") ?? 0 }))
      .sort((a, b) => b.w - a.w || a.i - b.i)
      .map((e) => e.x);
  return {
    failedConnections: heavier(failedConnections, (c) => c.processId),
    failedExits: heavier(failedExits, (p) => p.id),
    deleted: heavier(deleted, (d) => d.by?.id),
    talkers,
    lostEvents: r.losses.reduce((n, l) => n + l.count, 0n),
    lossGaps: r.losses.length,
    weight,
  };
}
