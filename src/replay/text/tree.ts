// `--view tree`: the process tree, each process with its exec chain, connections and files nested under it.
import { endpoint } from "../addr.js";
import { ownerLabel } from "../container.js";
import type { Connection, FileActivity, ProcessEntity, Replay } from "../model.js";
import { byStart } from "../processes.js";
import { isoFromNs } from "../time.js";
import { cutOffBanners, fit, type Style } from "./style.js";

function exitText(p: ProcessEntity, st: Style): string {
  if (p.exitNs === undefined) return "";
  if (p.exitSignal !== undefined) return st.red(` killed(${p.exitSignal})`);
  return p.exitCode === 0 ? " exit 0" : st.red(` exit ${p.exitCode}`);
}

function head(p: ProcessEntity, st: Style): string {
  const tag = p.origin === "snapshot" ? st.dim(" [snapshot]") : "";
  const moved = p.reparentedFrom !== undefined ? st.dim(` [re-parented, ${p.parentOrigin}]`) : "";
  // Root is the common case and goes unsaid; any other uid is shown with its sealed name, id(1) style.
  const who = p.uid !== 0 ? ` uid=${p.uid}${p.user !== undefined ? `(${p.user})` : ""}` : "";
  const owner = ownerLabel(p.container);
  return `${st.bold(p.comm)} [${p.pid}]${exitText(p, st)}${who}${owner ? st.dim(` <${owner}>`) : ""}${tag}${moved}`;
}

export function renderTree(r: Replay, st: Style): string {
  const lines: string[] = [...cutOffBanners(r.sessions, st, isoFromNs)];
  const ids = new Set(r.processes.map((p) => p.id));
  const children = new Map<string, ProcessEntity[]>();
  const roots: ProcessEntity[] = [];
  for (const p of r.processes) {
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
    lines.push(fit(`${prefix}${branch}${head(p, st)}`, 80 + (st.bold("") ? 40 : 0)));
    const inner = top ? "" : prefix + (last ? "   " : "│  ");
    const kids = (children.get(p.id) ?? []).sort(byStart);
    const bar = kids.length > 0 ? "│ " : "  ";
    for (const e of p.execs) {
      lines.push(fit(`${inner}${bar}${e.origin === "snapshot" ? "image" : "exec "} ${e.argv.join(" ") || e.filename}${e.argvTruncated ? " …" : ""}`, 80));
    }
    for (const c of conns.get(p.id) ?? []) lines.push(fit(`${inner}${bar}${connLine(c)}`, 80));
    for (const f of files.get(p.id) ?? []) lines.push(fit(`${inner}${bar}${fileLine(f)}`, 80));
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1, false));
  };
  roots.sort(byStart).forEach((p) => walk(p, "", true, true));
  if (r.processes.length === 0) lines.push("(no processes)");
  return lines.join("\n") + "\n";
}

function connLine(c: Connection): string {
  const extra = [c.retransmits ? `${c.retransmits} retrans` : "", c.resets ? `${c.resets} resets` : ""].filter(Boolean).join(", ");
  const dir = c.direction === "inbound" ? "⇐" : c.direction === "listen" ? "listen" : "⇒";
  return `${c.protocol} ${dir} ${endpoint(c.daddr, c.dport)} ${c.outcome}${c.errno !== undefined ? ` (errno ${c.errno})` : ""}${extra ? `, ${extra}` : ""}`;
}

function fileLine(f: FileActivity): string {
  const ops = f.ops.map((o) => (o.kind === "chmod" ? `chmod ${(o.mode ?? 0).toString(8)}` : o.kind === "rename" ? `→ ${o.newPath}` : "deleted")).join(", ");
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
