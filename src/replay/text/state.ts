// `--at TIME`: the state at one moment, like `ps` and `ss` then.
import { endpoint } from "../addr.js";
import type { Replay } from "../model.js";
import { isKernelThread } from "../processes.js";
import type { StateAt } from "../state.js";
import { formatDurationNs, isoFromNs } from "../time.js";
import { cutOffBanners, fit, type Style } from "./style.js";

export function renderState(r: Replay, s: StateAt, st: Style, all = false): string {
  const lines = [...cutOffBanners(r.sessions, st, isoFromNs)];
  const offset = s.startNs === undefined ? "" : s.atNs >= s.startNs ? ` (+${formatDurationNs(s.atNs - s.startNs)} from the start)` : ` (${formatDurationNs(s.startNs - s.atNs)} before the start)`;
  lines.push(st.bold(`state at ${isoFromNs(s.atNs)}${offset}`));
  if (!s.inside) lines.push(st.yellow("  outside every recorded span: only what the recording knew about then is shown"));

  lines.push("", st.bold(`processes alive (${s.processes.length})`));
  const kernel = all ? 0 : s.processes.filter(({ process }) => isKernelThread(process)).length;
  if (kernel > 0) lines.push(st.dim(`  ${kernel} kernel threads; --all shows them`));
  lines.push(st.dim("    pid   ppid comm             started          image"));
  for (const { process: p, image, ppid } of s.processes) {
    if (!all && isKernelThread(p)) continue;
    lines.push(fit(`  ${String(p.pid).padStart(5)} ${String(ppid).padStart(6)} ${fit(p.comm, 16).padEnd(16)} ${isoFromNs(p.startNs).slice(11, 26)}  ${image ? image.argv.join(" ") || image.filename : "-"}`, 80));
  }

  lines.push("", st.bold(`listening (${s.listening.length})`));
  for (const c of s.listening) lines.push(fit(`  ${String(c.pid).padStart(5)} ${fit(c.comm || "?", 16).padEnd(16)} ${c.protocol} ${endpoint(c.saddr, c.sport)}`, 80));

  lines.push("", st.bold(`connections open (${s.connections.length})`));
  for (const c of s.connections) {
    const dir = c.direction === "inbound" ? "in " : c.direction === "outbound" ? "out" : "?  ";
    const phase = c.establishedNs !== undefined && c.establishedNs <= s.atNs ? "established" : c.origin === "snapshot" ? c.outcome : "connecting";
    lines.push(fit(`  ${String(c.pid).padStart(5)} ${fit(c.comm || "?", 16).padEnd(16)} ${dir} ${c.protocol} ${endpoint(c.saddr, c.sport)} ↔ ${endpoint(c.daddr, c.dport)} ${phase}`, 80));
  }

  lines.push("", st.bold(`files being written (${s.files.length})`));
  for (const f of s.files) {
    lines.push(fit(`  ${String(f.pid).padStart(5)} ${fit(f.comm, 16).padEnd(16)} ${f.path} (writes ${isoFromNs(f.firstNs!).slice(11, 26)}–${isoFromNs(f.lastNs!).slice(11, 26)})`, 80));
  }
  return lines.join("\n") + "\n";
}
