// The timeline: one event per fact, derived from the reconstructed entities and sorted by time.
import { endpoint, shownEnd } from "./addr.js";
import { modeText } from "./document.js";
import type { Connection, FileActivity, PrivilegeEvent, ProcessEntity, Replay } from "./model.js";
import { gained, privilegeArgs, privilegeKind, privilegeText, type PrivilegeKind } from "./privilege.js";
import { isoFromNs } from "./time.js";

export type EventKind =
  | "session.start"
  | "session.end"
  | "session.cutoff"
  | "process.start"
  | "process.snapshot"
  | "process.exec"
  | "process.exit"
  | "connection.attempt"
  | "connection.established"
  | "connection.failed"
  | "connection.close"
  | "connection.snapshot"
  | "connection.retransmit"
  | "connection.reset"
  | "file.write"
  | "file.delete"
  | "file.rename"
  | "file.chmod"
  | PrivilegeKind
  | "loss";

export type DetailValue = string | number | boolean | null;

export interface TimelineEvent {
  timeNs: bigint;
  kind: EventKind;
  host: string;
  processId: string | null;
  pid: number | null;
  comm: string | null;
  message: string;
  details: Record<string, DetailValue>;
}

function proc(p: ProcessEntity): Pick<TimelineEvent, "host" | "processId" | "pid" | "comm"> {
  return { host: p.host, processId: p.id, pid: p.pid, comm: p.comm };
}

function processEvents(p: ProcessEntity, out: TimelineEvent[]): void {
  const base = proc(p);
  if (p.origin === "snapshot") {
    out.push({
      ...base,
      timeNs: p.startNs,
      kind: "process.snapshot",
      message: `${p.comm} [${p.pid}] running at start (parent ${p.ppid})`,
      details: { ppid: p.ppid, origin: "snapshot" },
    });
  } else {
    out.push({
      ...base,
      timeNs: p.forkNs ?? p.startNs,
      kind: "process.start",
      message: `${p.comm} [${p.pid}] started by ${p.ppid}`,
      details: { ppid: p.ppid, parentId: p.parentId ?? null, origin: p.forkNs === undefined ? "inferred" : "observed" },
    });
  }
  for (const e of p.execs) {
    if (e.origin === "snapshot") continue;
    out.push({
      ...base,
      timeNs: e.timeNs,
      kind: "process.exec",
      message: `[${p.pid}] exec ${e.argv.join(" ") || e.filename}${e.argvTruncated ? " …" : ""}`,
      details: {
        filename: e.filename,
        argv: e.argv.join(" "),
        argvTruncated: e.argvTruncated,
        cwd: e.cwd ?? null,
        sha256: e.exe?.sha256 ?? null,
      },
    });
  }
  if (p.exitNs !== undefined) {
    const how = p.exitSignal !== undefined ? `killed by signal ${p.exitSignal}` : `exit ${p.exitCode}`;
    out.push({
      ...base,
      timeNs: p.exitNs,
      kind: "process.exit",
      message: `${p.comm} [${p.pid}] ${how}`,
      details: { exitCode: p.exitCode ?? null, exitSignal: p.exitSignal ?? null },
    });
  }
}

function connectionEvents(c: Connection, byId: Map<string, ProcessEntity>, out: TimelineEvent[]): void {
  const p = c.processId === undefined ? undefined : byId.get(c.processId);
  const base = { host: c.host, processId: c.processId ?? null, pid: c.pid || null, comm: c.comm || null };
  const remote = endpoint(c.daddr, c.dport);
  const local = endpoint(c.saddr, c.sport);
  // A listener's remote end is 0.0.0.0:0: its lines name its local end (as the text views do, addr.ts shownEnd).
  const shown = shownEnd(c);
  const listener = c.direction === "listen";
  const details = {
    protocol: c.protocol,
    saddr: c.saddr,
    sport: c.sport,
    daddr: c.daddr,
    dport: c.dport,
    direction: c.direction,
    outcome: c.outcome,
  };
  const who = p ? `${p.comm} [${p.pid}]` : "(owner unknown)";
  if (c.origin === "snapshot") {
    const what =
      c.direction === "listen"
        ? `listening on ${local}`
        : `${local} ↔ ${remote} ${c.outcome === "closing" ? "closing" : "open"}`;
    out.push({
      ...base,
      timeNs: c.snapshotNs ?? c.endNs ?? c.establishedNs ?? 0n,
      kind: "connection.snapshot",
      message: `${who} ${c.protocol} ${what} at start`,
      details,
    });
    return;
  }
  const arrow = c.direction === "inbound" ? "←" : "→";
  if (c.startNs !== undefined) {
    out.push({
      ...base,
      timeNs: c.startNs,
      kind: "connection.attempt",
      message: `${who} ${c.protocol} ${c.direction === "inbound" ? `${remote} → ${local}` : c.direction === "listen" ? `listen ${local}` : `${local} → ${remote}`}`,
      details,
    });
  }
  if (c.establishedNs !== undefined && c.outcome !== "refused" && c.outcome !== "error") {
    out.push({
      ...base,
      timeNs: c.establishedNs,
      kind: "connection.established",
      message: listener ? `${who} ${c.outcome} on ${shown}` : `${who} ${c.outcome} ${arrow} ${remote}`,
      details,
    });
  }
  for (const t of c.retransmitTimes ?? [])
    out.push({
      ...base,
      timeNs: t,
      kind: "connection.retransmit",
      message: listener ? `${who} retransmit on listener ${local}` : `${who} retransmit ${local} → ${remote}`,
      details,
    });
  for (const t of c.resetTimes ?? [])
    out.push({
      ...base,
      timeNs: t,
      kind: "connection.reset",
      message: listener ? `${who} reset on listener ${local}` : `${who} reset ${local} ↔ ${remote}`,
      details,
    });
  if (c.endNs !== undefined) {
    const failed = c.outcome !== "established" && c.outcome !== "connected" && c.outcome !== "listening";
    out.push({
      ...base,
      timeNs: c.endNs,
      kind: failed ? "connection.failed" : "connection.close",
      message: failed
        ? `${who} ${c.outcome}${c.errno !== undefined ? ` (errno ${c.errno})` : ""} ${listener ? "on" : arrow} ${shown}`
        : c.direction === "listen"
          ? `${who} closed listener ${local}`
          : `${who} closed ${local} ↔ ${remote}`,
      details: { ...details, errno: c.errno ?? null, retransmits: c.retransmits, resets: c.resets },
    });
  }
}

function fileEvents(f: FileActivity, out: TimelineEvent[]): void {
  const base = { host: f.host, processId: f.processId, pid: f.pid, comm: f.comm };
  if (f.firstNs !== undefined) {
    out.push({
      ...base,
      timeNs: f.firstNs,
      kind: "file.write",
      message: `${f.comm} [${f.pid}] wrote ${f.bytes} bytes in ${f.writes} writes to ${f.path}`,
      details: {
        path: f.path,
        bytes: Number(f.bytes),
        writes: Number(f.writes),
        lastTime: f.lastNs === undefined ? null : isoFromNs(f.lastNs),
      },
    });
  }
  for (const op of f.ops) {
    if (op.kind === "chmod") {
      out.push({
        ...base,
        timeNs: op.timeNs,
        kind: "file.chmod",
        message: `${f.comm} [${f.pid}] chmod ${modeText(op.mode ?? 0)} ${op.path}${op.ret < 0 ? ` failed (${op.ret})` : ""}`,
        details: { path: op.path, mode: modeText(op.mode ?? 0), ret: op.ret },
      });
    } else if (op.kind === "delete") {
      out.push({
        ...base,
        timeNs: op.timeNs,
        kind: "file.delete",
        message: `${f.comm} [${f.pid}] unlink ${op.path}${op.ret < 0 ? ` failed (${op.ret})` : ""}`,
        details: { path: op.path, ret: op.ret },
      });
    } else {
      out.push({
        ...base,
        timeNs: op.timeNs,
        kind: "file.rename",
        message: `${f.comm} [${f.pid}] rename ${op.path} → ${op.newPath ?? "?"}${op.ret < 0 ? ` failed (${op.ret})` : ""}`,
        details: { path: op.path, newPath: op.newPath ?? null, ret: op.ret },
      });
    }
  }
}

function privilegeEvent(e: PrivilegeEvent, out: TimelineEvent[]): void {
  const g = gained(e);
  out.push({
    host: e.host,
    processId: e.processId,
    pid: e.pid,
    comm: e.comm,
    timeNs: e.timeNs,
    kind: privilegeKind(e.op),
    message: `${e.comm} [${e.pid}] ${privilegeText(e)}`,
    details: {
      syscall: e.syscall,
      ret: e.ret,
      ...privilegeArgs(e),
      targetPid: e.target === 0 ? null : e.target,
      targetComm: e.targetComm ?? null,
      escalation: g.length > 0,
      gained: g.join(", ") || null,
      uid: e.after.uid,
      euid: e.after.euid,
      oldUid: e.before?.uid ?? null,
      oldEuid: e.before?.euid ?? null,
    },
  });
}

/** Every event of the replay, in time order (stable: ties keep entity order). */
export function timelineEvents(r: Replay): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  const none = { processId: null, pid: null, comm: null };
  for (const s of r.sessions) {
    if (s.startNs !== undefined)
      out.push({
        ...none,
        host: s.host,
        timeNs: s.startNs,
        kind: "session.start",
        message: `session ${s.sessionId.slice(0, 8)} on ${s.hostname} started (runbook ${s.runbook || "-"})`,
        details: { sessionId: s.sessionId, hostname: s.hostname },
      });
    const end = s.cutOff ? s.lastRecordNs : s.endNs;
    if (end !== undefined) {
      out.push({
        ...none,
        host: s.host,
        timeNs: end,
        kind: s.cutOff ? "session.cutoff" : "session.end",
        message: s.cutOff
          ? `session ${s.sessionId.slice(0, 8)} CUT OFF: ${s.status}: ${s.verdictReason}; nothing after this point was readable`
          : `session ${s.sessionId.slice(0, 8)} ended (${s.endReason ?? "?"})`,
        details: { sessionId: s.sessionId, status: s.status },
      });
    }
  }
  for (const p of r.processes) processEvents(p, out);
  for (const c of r.connections) connectionEvents(c, byId, out);
  for (const f of r.files) fileEvents(f, out);
  for (const e of r.privilege) privilegeEvent(e, out);
  for (const l of r.losses) {
    out.push({
      ...none,
      host: l.host,
      timeNs: l.fromNs,
      kind: "loss",
      message: `${l.count} ${l.bundle} events lost between here and +${Number((l.toNs - l.fromNs) / 1_000_000n)}ms`,
      details: { bundle: l.bundle, count: Number(l.count), to: isoFromNs(l.toNs) },
    });
  }
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.timeNs < b.e.timeNs ? -1 : a.e.timeNs > b.e.timeNs ? 1 : a.i - b.i))
    .map((x) => x.e);
}
