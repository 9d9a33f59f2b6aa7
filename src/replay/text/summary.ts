// `--view summary`: counts, time range, top talkers, losses and the verdict, at 80 columns.
import { endpoint } from "../addr.js";
import type { Replay } from "../model.js";
import { formatDurationNs, isoFromNs } from "../time.js";
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
