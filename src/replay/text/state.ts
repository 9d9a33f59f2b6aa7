// `--at TIME`: the state at one moment, like `ps` and `ss` then.
import { endpoint } from "../addr.js";
import type { Replay } from "../model.js";
import { imageText, isKernelThread } from "../processes.js";
import type { StateAt } from "../state.js";
import { formatDurationNs, isoFromNs } from "../time.js";
import { ownerColumn } from "./owner.js";
import { bold, cutOffBanners, dim, fit, line, pad, yellow, type Piece } from "./style.js";

export function stateLines(r: Replay, s: StateAt, all = false): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  const offset =
    s.startNs === undefined
      ? ""
      : s.atNs >= s.startNs
        ? ` (+${formatDurationNs(s.atNs - s.startNs)} from the start)`
        : ` (${formatDurationNs(s.startNs - s.atNs)} before the start)`;
  lines.push(bold(`state at ${isoFromNs(s.atNs)}${offset}`));
  if (!s.inside) lines.push(yellow("  outside every recorded span: only what the recording knew about then is shown"));

  lines.push("", bold(`processes alive (${s.processes.length})`));
  const kernel = all ? 0 : s.processes.filter(({ process }) => isKernelThread(process)).length;
  if (kernel > 0) lines.push(dim(`  ${kernel} kernel threads; --all shows them`));
  const owner = ownerColumn(s.processes.map(({ process }) => process));
  lines.push(dim(`    pid   ppid comm             ${owner?.header ?? ""}started          image`));
  for (const { process: p, image, ppid } of s.processes) {
    if (!all && isKernelThread(p)) continue;
    lines.push(
      fit(
        line`  ${String(p.pid).padStart(5)} ${String(ppid).padStart(6)} ${pad(p.comm, 16)} ${owner?.cell(p) ?? ""}${isoFromNs(p.startNs).slice(11, 26)}  ${image ? imageText(image) : "-"}`,
        80,
      ),
    );
  }

  lines.push("", bold(`listening (${s.listening.length})`));
  for (const c of s.listening)
    lines.push(
      fit(
        line`  ${String(c.pid).padStart(5)} ${pad(c.comm || "?", 16)} ${c.protocol} ${endpoint(c.saddr, c.sport)}`,
        80,
      ),
    );

  lines.push("", bold(`connections open (${s.connections.length})`));
  for (const c of s.connections) {
    const dir = c.direction === "inbound" ? "in " : c.direction === "outbound" ? "out" : "?  ";
    const phase =
      c.establishedNs !== undefined && c.establishedNs <= s.atNs
        ? "established"
        : c.origin === "snapshot"
          ? c.outcome
          : "connecting";
    lines.push(
      fit(
        line`  ${String(c.pid).padStart(5)} ${pad(c.comm || "?", 16)} ${dir} ${c.protocol} ${endpoint(c.saddr, c.sport)} ↔ ${endpoint(c.daddr, c.dport)} ${phase}`,
        80,
      ),
    );
  }

  lines.push("", bold(`files being written (${s.files.length})`));
  for (const f of s.files) {
    lines.push(
      fit(
        line`  ${String(f.pid).padStart(5)} ${pad(f.comm, 16)} ${f.path} (writes ${isoFromNs(f.firstNs!).slice(11, 26)}–${isoFromNs(f.lastNs!).slice(11, 26)})`,
        80,
      ),
    );
  }
  return lines;
}
