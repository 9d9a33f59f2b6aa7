// `--view summary`: counts, time range, top talkers, losses and the verdict, at 80 columns.
import { endpoint } from "../addr.js";
import type { Replay } from "../model.js";
import { formatDurationNs, isoFromNs } from "../time.js";
import { gained, privilegeCall, privilegeEffects, privilegeKind } from "../privilege.js";
import { PRIV_OP } from "../../events/layouts.js";
import { bold, cutOffBanners, fit, green, line, pad, red, yellow, type Piece } from "./style.js";

export function summaryLines(r: Replay): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  for (const s of r.sessions) {
    const span = s.startNs !== undefined && s.endNs !== undefined ? ` (${formatDurationNs(s.endNs - s.startNs)})` : "";
    lines.push(bold(fit(line`session ${s.sessionId.slice(0, 16)}  ${s.hostname}  runbook ${s.runbook || "-"}`, 80)));
    lines.push(line`  file     ${fit(s.path, 69)}`);
    lines.push(`  from     ${s.startNs === undefined ? "-" : isoFromNs(s.startNs)}`);
    lines.push(`  to       ${s.endNs === undefined ? "-" : isoFromNs(s.endNs)}${span}`);
    lines.push(
      line`  bundles  ${s.bundles.join(", ") || "-"}   end: ${s.endReason ?? "cut off"}   events: ${s.events}`,
    );
    // Facts the recording kernel did not have: said plainly, so that an absent value is not read as zero.
    if (s.unavailable.length > 0) lines.push("  not available on this kernel (or not from the kernel):");
    for (const u of s.unavailable) lines.push(line`    ${fit(`${u.bundle} ${u.what}`, 76)}`);
    const verdict = line`${s.status}: ${s.verdictReason}`;
    lines.push(line`  verdict  ${s.status === "SEALED" ? green(fit(verdict, 69)) : red(fit(verdict, 69))}`);
  }
  const execs = r.processes.reduce((n, p) => n + p.execs.filter((e) => e.origin !== "snapshot").length, 0);
  const observed = r.processes.filter((p) => p.origin !== "snapshot").length;
  const failedExits = r.processes.filter((p) => (p.exitCode ?? 0) !== 0 || p.exitSignal !== undefined).length;
  lines.push("");
  lines.push(bold("activity"));
  lines.push(
    `  processes    ${r.processes.length} (${observed} started during the recording, ${r.processes.length - observed} from the snapshot)`,
  );
  lines.push(`  execs        ${execs}    non-zero exits ${failedExits}`);
  const failed = r.connections.filter(
    (c) => !["established", "connected", "listening", "pending", "closing"].includes(c.outcome),
  ).length;
  const retrans = r.connections.reduce((n, c) => n + c.retransmits, 0);
  lines.push(`  connections  ${r.connections.length} (${failed} failed)    retransmits ${retrans}`);
  const bytes = r.files.reduce((n, f) => n + f.bytes, 0n);
  lines.push(`  files        ${r.files.length} written or changed, ${bytes} bytes`);

  const talkers = new Map<string, number>();
  for (const c of r.connections) {
    if (c.direction === "listen") continue;
    const k = endpoint(c.daddr, c.dport);
    talkers.set(k, (talkers.get(k) ?? 0) + 1);
  }
  if (talkers.size > 0) {
    lines.push("");
    lines.push(bold("top remote endpoints"));
    for (const [k, n] of [...talkers].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5))
      lines.push(line`  ${String(n).padStart(6)}  ${fit(k, 70)}`);
  }
  const perProc = new Map<string, { label: string; conns: number; bytes: bigint }>();
  const label = new Map(r.processes.map((p) => [p.id, `${p.comm} [${p.pid}]`]));
  for (const c of r.connections) {
    if (!c.processId) continue;
    const e = perProc.get(c.processId) ?? { label: label.get(c.processId) ?? c.processId, conns: 0, bytes: 0n };
    e.conns++;
    perProc.set(c.processId, e);
  }
  for (const f of r.files) {
    const e = perProc.get(f.processId) ?? { label: label.get(f.processId) ?? f.processId, conns: 0, bytes: 0n };
    e.bytes += f.bytes;
    perProc.set(f.processId, e);
  }
  if (perProc.size > 0) {
    lines.push("");
    lines.push(bold("top processes        connections  bytes written"));
    const top = [...perProc.values()].sort(
      (a, b) =>
        b.conns - a.conns || (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0) || (a.label < b.label ? -1 : 1),
    );
    for (const e of top.slice(0, 5))
      lines.push(line`  ${pad(e.label, 28)} ${String(e.conns).padStart(6)}  ${String(e.bytes).padStart(13)}`);
  }
  lines.push(...privilegeSummary(r));
  lines.push("");
  lines.push(bold("losses"));
  if (r.losses.length === 0) lines.push("  none");
  for (const l of r.losses)
    lines.push(
      yellow(
        line`  ${l.bundle}: ${l.count} lost between ${isoFromNs(l.fromNs)} and +${formatDurationNs(l.toNs - l.fromNs)}`,
      ),
    );
  return lines;
}

/** Listed one per line before "and N more": a hostile session may hold millions of these calls. */
const PRIVILEGE_LIST_MAX = 20;

/**
 * The privilege bundle's findings: escalations (a uid or capabilities gained), module loads and unloads,
 * BPF program and map creations, each listed; the other calls counted by kind.
 */
export function privilegeSummary(r: Replay): Piece[] {
  if (r.privilege.length === 0) return [];
  const lines: Piece[] = ["", bold(`privilege    ${r.privilege.length} calls`)];
  const groups: Array<[string, (e: Replay["privilege"][number]) => boolean]> = [
    ["escalations (uid or capabilities gained)", (e) => gained(e).length > 0],
    [
      "module loads and unloads",
      (e) => e.op === PRIV_OP.initModule || e.op === PRIV_OP.finitModule || e.op === PRIV_OP.deleteModule,
    ],
    ["BPF programs and maps created", (e) => e.op === PRIV_OP.bpf],
  ];
  for (const [title, pick] of groups) {
    const hits = r.privilege.filter(pick);
    lines.push(line`  ${title}: ${hits.length === 0 ? "none" : String(hits.length)}`);
    for (const e of hits.slice(0, PRIVILEGE_LIST_MAX)) {
      const text = fit(line`    ${isoFromNs(e.timeNs).slice(11, 26)} ${e.comm} [${e.pid}] ${privilegeCall(e)}`, 80);
      lines.push(e.ret < 0 ? text : red(text));
      const g = gained(e);
      if (g.length) lines.push(fit(line`        gained ${g.join(", ")}`, 80));
      else for (const part of privilegeEffects(e)) lines.push(fit(line`        ${part}`, 80));
    }
    if (hits.length > PRIVILEGE_LIST_MAX) lines.push(`    and ${hits.length - PRIVILEGE_LIST_MAX} more`);
  }
  const byKind = new Map<string, { n: number; failed: number }>();
  for (const e of r.privilege) {
    const k = privilegeKind(e.op).slice("privilege.".length);
    const c = byKind.get(k) ?? { n: 0, failed: 0 };
    c.n++;
    if (e.ret < 0) c.failed++;
    byKind.set(k, c);
  }
  // At most nine kinds: three to a line.
  const kinds = [...byKind]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, c]) => `${k} ${c.n}${c.failed ? ` (${c.failed} failed)` : ""}`);
  for (let i = 0; i < kinds.length; i += 3)
    lines.push(fit(`  ${i === 0 ? "by kind:" : "        "} ${kinds.slice(i, i + 3).join(", ")}`, 80));
  return lines;
}
