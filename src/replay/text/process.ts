// `--view process`: one process at a glance (identity, parent chain, execs, children, connections, files,
// exit), and the list of matches when a `--pid` names several processes.
import { shownEnd } from "../addr.js";
import { latencyMs } from "../document.js";
import { imageAt, pickText, type ProcessDetail } from "../focus.js";
import type { ProcessEntity, Replay } from "../model.js";
import { imageText, isMidExec } from "../processes.js";
import { isoFromNs } from "../time.js";
import { ownerLabel } from "../container.js";
import { devText, exeTag } from "../exefile.js";
import { gained, privilegeCall, privilegeEffects } from "../privilege.js";
import { bold, cutOffBanners, dim, fit, red, type Piece } from "./style.js";

function exitText(p: ProcessEntity): string {
  if (p.exitNs === undefined) return "still running at the end of the recording";
  const how = p.exitSignal !== undefined ? `killed by signal ${p.exitSignal}` : `exit ${p.exitCode}`;
  return `${how} at ${isoFromNs(p.exitNs)}`;
}

function label(p: ProcessEntity): string {
  return `${p.comm} [${p.pid}]`;
}

export function processLines(r: Replay, d: ProcessDetail): Piece[] {
  const p = d.process;
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  lines.push(bold(fit(`${label(p)} on ${d.hostname}`, 80)));
  lines.push(fit(`  id       ${p.id}`, 80));
  lines.push(
    `  started  ${isoFromNs(p.startNs)} (${p.origin === "snapshot" ? "running when the recording started" : p.forkNs !== undefined ? "fork seen" : "start inferred"})`,
  );
  lines.push(`  uid      ${p.uid}${p.user !== undefined ? ` (${p.user})` : ""}`);
  const owner = ownerLabel(p.container);
  if (owner) lines.push(fit(`  owner    ${owner}`, 80));
  const exit = `  exit     ${exitText(p)}`;
  lines.push((p.exitCode ?? 0) !== 0 || p.exitSignal !== undefined ? red(exit) : exit);

  lines.push("", bold("parents"));
  if (d.parents.length === 0) lines.push(`  none known (ppid ${p.ppid})`);
  d.parents.forEach((q, i) =>
    lines.push(
      fit(
        `  ${"  ".repeat(i)}${label(q)} started ${isoFromNs(q.startNs)}${q.execs.length ? ` ${q.execs[q.execs.length - 1]!.filename}` : ""}`,
        80,
      ),
    ),
  );
  if (p.reparentedFrom !== undefined)
    lines.push(dim(fit(`  re-parented (${p.parentOrigin}); first parent ${p.reparentedFrom}`, 80)));

  lines.push("", bold("execs"));
  if (p.execs.length === 0) {
    // A fork that never exec'd runs its parent's image.
    const from = d.parents[0] === undefined ? undefined : imageAt(d.parents[0], p.forkNs ?? p.startNs);
    lines.push(fit(from ? `  none: runs its parent's image, ${imageText(from)}` : "  none recorded", 80));
  }
  for (const e of p.execs) {
    if (isMidExec(e)) {
      lines.push(fit(`  ${isoFromNs(e.timeNs)} image unknown (mid-exec)`, 80));
      lines.push(fit(`      exe  ${e.filename} (argv not yet laid out when the snapshot read it)`, 80));
      continue;
    }
    lines.push(fit(`  ${isoFromNs(e.timeNs)} ${e.origin === "snapshot" ? "image" : "exec "} ${e.filename}`, 80));
    lines.push(fit(`      argv ${e.argv.join(" ")}${e.argvTruncated ? " …" : ""}`, 80));
    if (e.cwd !== undefined) lines.push(fit(`      cwd  ${e.cwd}`, 80));
    if (e.exe) {
      lines.push(fit(`      file ${exeTag(e.exe, true) || "no hash recorded"}`, 80));
      lines.push(
        dim(
          fit(
            `           inode ${e.exe.ino} dev ${devText(e.exe.dev)} size ${e.exe.size} mode ${e.exe.mode.toString(8)}`,
            80,
          ),
        ),
      );
    }
  }

  lines.push("", bold(`children (${d.children.length})`));
  for (const c of d.children) {
    const how =
      c.exitNs === undefined
        ? "running"
        : c.exitSignal !== undefined
          ? `killed(${c.exitSignal})`
          : `exit ${c.exitCode}`;
    const image = c.execs[c.execs.length - 1];
    lines.push(
      fit(
        `  ${isoFromNs(c.startNs).slice(11, 26)} ${label(c)} ${how}${c.parentId !== p.id ? " (re-parented)" : ""}${ownerLabel(c.container) !== owner ? ` <${ownerLabel(c.container) || "host"}>` : ""}${image ? ` ${imageText(image)}` : ""}`,
        80,
      ),
    );
  }

  lines.push("", bold(`connections (${d.connections.length})`));
  for (const c of d.connections) {
    const t = c.startNs ?? c.establishedNs;
    const lat = latencyMs(c);
    const extra = [
      lat === null ? "" : `${lat.toFixed(1)}ms`,
      c.retransmits ? `rtx ${c.retransmits}` : "",
      c.resets ? `rst ${c.resets}` : "",
      c.errno !== undefined ? `errno ${c.errno}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    const dir =
      c.direction === "inbound" ? "in " : c.direction === "outbound" ? "out" : c.direction === "listen" ? "lsn" : "?  ";
    lines.push(
      fit(
        `  ${t === undefined ? "(snapshot)     " : isoFromNs(t).slice(11, 26)} ${dir} ${c.protocol} ${shownEnd(c)} ${c.outcome}${extra ? ` ${extra}` : ""}`,
        80,
      ),
    );
  }

  lines.push("", bold(`files (${d.files.length})`));
  for (const f of d.files) {
    const ops = f.ops
      .map((o) =>
        o.kind === "chmod" ? `chmod ${(o.mode ?? 0).toString(8)}` : o.kind === "rename" ? `→ ${o.newPath}` : "deleted",
      )
      .join(", ");
    lines.push(fit(`  ${f.path} ${f.bytes}B/${f.writes}w${ops ? `, ${ops}` : ""}`, 80));
  }

  if (d.privilege.length > 0) {
    lines.push("", bold(`privilege (${d.privilege.length})`));
    for (const e of d.privilege) {
      const by = e.processId === p.id ? "" : `by ${e.comm} [${e.pid}] `;
      const text = fit(`  ${isoFromNs(e.timeNs).slice(11, 26)} ${by}${privilegeCall(e)}`, 80);
      lines.push(gained(e).length > 0 || e.ret < 0 ? red(text) : text);
      // What it did, a line per part: a credential change does not fit beside the call in 80 columns.
      for (const part of privilegeEffects(e)) lines.push(dim(fit(`      ${part}`, 80)));
    }
  }
  return lines;
}

/** A `--pid` that names several processes: one line each, with what picks it alone. */
export function matchLines(r: Replay, selector: string, matches: readonly ProcessEntity[]): Piece[] {
  const lines: Piece[] = [...cutOffBanners(r.sessions, isoFromNs)];
  lines.push(bold(fit(`--pid ${selector} names ${matches.length} processes; pick one with --pid as shown:`, 80)));
  for (const p of matches) {
    const image = p.execs[p.execs.length - 1];
    const life = p.exitNs === undefined ? "running at end" : `exited ${isoFromNs(p.exitNs).slice(11, 26)}`;
    lines.push(fit(`  --pid ${pickText(p, matches)}`, 80));
    lines.push(
      fit(
        `      ${label(p)} on ${r.sessions.find((s) => s.host === p.host)?.hostname ?? p.host}, ${life}${image ? `, ${image.filename}` : ""}`,
        80,
      ),
    );
  }
  return lines;
}
