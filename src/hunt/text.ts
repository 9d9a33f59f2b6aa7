// `hunt --format text`: findings grouped by level, then time. Lines are built like replay's text views, so
// every string from a session or a rule file leaves through terminalText(), escaped (replay/text/visible.ts).
import { bold, dim, line, red, yellow, type Piece } from "../replay/text/style.js";
import type { ProcessRef, Report } from "./report.js";

const who = (p: ProcessRef): string => `${p.comm} [${p.pid}]${p.image ? ` ${p.image}` : ""}`;

export function huntTextLines(rep: Report, sessionFiles: readonly string[]): Piece[] {
  const out: Piece[] = [];
  const ne = rep.notEvaluated.length;
  out.push(
    bold(
      `sealtrace hunt: ${rep.findings.length} finding(s) from ${rep.rules.evaluated} rule(s) over ${rep.sessions.length} session(s), ${rep.events} event(s)${ne ? `; ${ne} rule(s) not evaluated` : ""}${rep.rules.belowLevel ? `; ${rep.rules.belowLevel} below --min-level` : ""}`,
    ),
  );
  for (const s of rep.sessions)
    if (s.status !== "SEALED") out.push(red(`!! ${s.path}: ${s.status}: hunted up to its readable end`));
  let level = "";
  for (const f of rep.findings) {
    if (f.rule.level !== level) {
      level = f.rule.level;
      out.push("", bold(level.toUpperCase()));
    }
    const colour = level === "critical" || level === "high" ? red : level === "medium" ? yellow : (p: Piece) => p;
    out.push(
      line`  ${colour(bold(f.rule.title))}  [${f.rule.level}]  id ${f.rule.id}${f.rule.attack.length ? `  ${f.rule.attack.join(" ")}` : ""}`,
    );
    if (f.process) {
      out.push(
        `    process ${who(f.process)}  host ${f.process.host}  started ${f.process.startTime}  (${f.process.id})`,
      );
      if (f.parents.length) out.push(`    parents ${f.parents.map(who).join(" ← ")}`);
    } else out.push("    process unknown (the kernel did not say who owned it)");
    for (const e of f.events) out.push(line`    ${dim(e.time)}  ${e.summary}`);
    if (f.count > f.events.length) out.push(`    … ${f.count - f.events.length} more matching event(s)`);
    if (f.process)
      out.push(dim(`    → sealtrace replay ${sessionFiles.join(" ")} -i KEY --view tree --pid ${f.process.pid}`));
  }
  if (rep.findings.length === 0) out.push("", "No findings.");
  if (rep.droppedFindings) out.push("", yellow(`${rep.droppedFindings} further finding(s) not kept (limit reached)`));
  if (ne) {
    out.push("", bold(`Not evaluated (${ne}):`));
    for (const n of rep.notEvaluated)
      out.push(`  ${n.file}:${n.line}:${n.col}  ${n.title ?? "(untitled)"}${n.id ? ` (${n.id})` : ""}: ${n.reason}`);
  }
  return out;
}
