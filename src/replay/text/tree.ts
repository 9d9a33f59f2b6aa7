// `--view tree`: the process tree, each process with its exec chain, connections and files nested under it.
import { shownEnd } from "../addr.js";
import { ownerLabel } from "../container.js";
import { exeTag } from "../exefile.js";
import type { Connection, FileActivity, ProcessEntity, Replay } from "../model.js";
import { byStart, imageText, isKernelThread } from "../processes.js";
import { isoFromNs } from "../time.js";
import { bold, cutOffBanners, dim, fit, line, red, type Line, type Piece } from "./style.js";

function exitText(p: ProcessEntity): Piece {
  if (p.exitNs === undefined) return "";
  if (p.exitSignal !== undefined) return red(` killed(${p.exitSignal})`);
  return p.exitCode === 0 ? " exit 0" : red(` exit ${p.exitCode}`);
}

function head(p: ProcessEntity): Line {
  const tag = p.origin === "snapshot" ? dim(" [snapshot]") : "";
  const moved = p.reparentedFrom !== undefined ? dim(` [re-parented, ${p.parentOrigin}]`) : "";
  // Root is the common case and goes unsaid; any other uid is shown with its sealed name, id(1) style.
  const who = p.uid !== 0 ? ` uid=${p.uid}${p.user !== undefined ? `(${p.user})` : ""}` : "";
  const owner = ownerLabel(p.container);
  return line`${bold(p.comm)} [${p.pid}]${exitText(p)}${who}${owner ? dim(` <${owner}>`) : ""}${tag}${moved}`;
}

/**
 * The processes the folded tree leaves out: kernel threads and start-snapshot processes that did nothing
 * during the recording (no exec, exit, connection, file or child of their own), unless something under
 * them did.
 */
/** The folded line's words: "64 kernel threads, 1 idle process; --all shows them". */
export function foldedLine(folded: { kernel: Set<string>; idle: Set<string> }): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return `${n(folded.kernel.size, "kernel thread", "kernel threads")}, ${n(folded.idle.size, "idle process", "idle processes")}; --all shows them`;
}

export function foldedProcesses(r: Replay): { kernel: Set<string>; idle: Set<string> } {
  const active = new Set<string>();
  for (const c of r.connections) if (c.processId !== undefined && c.origin !== "snapshot") active.add(c.processId);
  for (const f of r.files) active.add(f.processId);
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  // Kernel threads' starts and exits (workers come and go) are not what an analyst is after.
  const kthread = isKernelThread;
  const quiet = (p: ProcessEntity) =>
    !active.has(p.id) &&
    (kthread(p) ||
      (p.origin === "snapshot" && p.exitNs === undefined && !p.execs.some((e) => e.origin !== "snapshot")));
  // Whatever is not quiet keeps its ancestors in view.
  const shown = new Set<string>();
  for (const p of r.processes) {
    if (quiet(p)) continue;
    for (
      let q: ProcessEntity | undefined = p;
      q && !shown.has(q.id);
      q = q.parentId === undefined ? undefined : byId.get(q.parentId)
    )
      shown.add(q.id);
  }
  const kernel = new Set<string>();
  const idle = new Set<string>();
  for (const p of r.processes) {
    if (shown.has(p.id)) continue;
    if (kthread(p)) kernel.add(p.id);
    else idle.add(p.id);
  }
  return { kernel, idle };
}

export function treeLines(r: Replay, all = false): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  const folded = all ? undefined : foldedProcesses(r);
  if (folded && folded.kernel.size + folded.idle.size > 0) {
    lines.push(dim(foldedLine(folded)));
  }
  const hidden = (p: ProcessEntity) => folded !== undefined && (folded.kernel.has(p.id) || folded.idle.has(p.id));
  const ids = new Set(r.processes.filter((p) => !hidden(p)).map((p) => p.id));
  const children = new Map<string, ProcessEntity[]>();
  const roots: ProcessEntity[] = [];
  for (const p of r.processes) {
    if (hidden(p)) continue;
    if (p.parentId !== undefined && ids.has(p.parentId)) {
      const l = children.get(p.parentId);
      if (l) l.push(p);
      else children.set(p.parentId, [p]);
    } else {
      roots.push(p);
    }
  }
  const conns = group(r.connections, (c) => c.processId);
  const files = group(r.files, (f) => f.processId);
  const walk = (p: ProcessEntity, prefix: string, last: boolean, top: boolean): void => {
    const branch = top ? "" : last ? "└─ " : "├─ ";
    lines.push(fit(line`${prefix}${branch}${head(p)}`, 80));
    const inner = top ? "" : prefix + (last ? "   " : "│  ");
    const kids = (children.get(p.id) ?? []).sort(byStart);
    const bar = kids.length > 0 ? "│ " : "  ";
    for (const e of p.execs) {
      const tag = exeTag(e.exe);
      lines.push(
        fit(
          line`${inner}${bar}${e.origin === "snapshot" ? "image" : "exec "} ${tag ? dim(`[${tag}] `) : ""}${imageText(e)}${e.argvTruncated ? " …" : ""}`,
          80,
        ),
      );
    }
    for (const c of conns.get(p.id) ?? []) lines.push(fit(`${inner}${bar}${connLine(c)}`, 80));
    for (const f of files.get(p.id) ?? []) lines.push(fit(`${inner}${bar}${fileLine(f)}`, 80));
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1, false));
  };
  roots.sort(byStart).forEach((p) => walk(p, "", true, true));
  if (r.processes.length === 0) lines.push("(no processes)");
  return lines;
}

function connLine(c: Connection): string {
  const extra = [c.retransmits ? `${c.retransmits} retrans` : "", c.resets ? `${c.resets} resets` : ""]
    .filter(Boolean)
    .join(", ");
  const dir = c.direction === "inbound" ? "⇐" : c.direction === "listen" ? "listen" : "⇒";
  return `${c.protocol} ${dir} ${shownEnd(c)} ${c.outcome}${c.errno !== undefined ? ` (errno ${c.errno})` : ""}${extra ? `, ${extra}` : ""}`;
}

function fileLine(f: FileActivity): string {
  const ops = f.ops
    .map((o) =>
      o.kind === "chmod" ? `chmod ${(o.mode ?? 0).toString(8)}` : o.kind === "rename" ? `→ ${o.newPath}` : "deleted",
    )
    .join(", ");
  return `file ${f.path} ${f.bytes}B/${f.writes}w${ops ? `, ${ops}` : ""}`;
}

function group<T>(items: readonly T[], key: (x: T) => string | undefined): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of items) {
    const k = key(x);
    if (k === undefined) continue;
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}
