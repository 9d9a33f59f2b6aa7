// `hunt --format text`: findings grouped by level, then time; every string from a session or a rule file
// is escaped for the terminal.
import type { Style } from "../replay/text/style.js";
import type { ProcessRef, Report } from "./report.js";
import { safeText } from "./safe.js";

const who = (p: ProcessRef): string => safeText(`${p.comm} [${p.pid}]${p.image ? ` ${p.image}` : ""}`);

export function renderHuntText(rep: Report, st: Style, sessionFiles: readonly string[]): string {
  const out: string[] = [];
  const ne = rep.notEvaluated.length;
  out.push(st.bold(`sealtrace hunt: ${rep.findings.length} finding(s) from ${rep.rules.evaluated} rule(s) over ${rep.sessions.length} session(s), ${rep.events} event(s)${ne ? `; ${ne} rule(s) not evaluated` : ""}${rep.rules.belowLevel ? `; ${rep.rules.belowLevel} below --min-level` : ""}`));
  for (const s of rep.sessions) if (s.status !== "SEALED") out.push(st.red(safeText(`!! ${s.path}: ${s.status}: hunted up to its readable end`)));
  let level = "";
  for (const f of rep.findings) {
    if (f.rule.level !== level) {
      level = f.rule.level;
      out.push("", st.bold(level.toUpperCase()));
    }
    const colour = level === "critical" || level === "high" ? st.red : level === "medium" ? st.yellow : (s: string) => s;
    out.push(`  ${colour(st.bold(safeText(f.rule.title)))}  [${f.rule.level}]  id ${safeText(f.rule.id)}${f.rule.attack.length ? `  ${safeText(f.rule.attack.join(" "))}` : ""}`);
    if (f.process) {
      out.push(`    process ${who(f.process)}  host ${safeText(f.process.host)}  started ${f.process.startTime}  (${safeText(f.process.id)})`);
      if (f.parents.length) out.push(`    parents ${f.parents.map(who).join(" ← ")}`);
    } else out.push("    process unknown (the kernel did not say who owned it)");
    for (const e of f.events) out.push(`    ${st.dim(e.time)}  ${safeText(e.summary)}`);
    if (f.count > f.events.length) out.push(`    … ${f.count - f.events.length} more matching event(s)`);
    if (f.process) out.push(st.dim(`    → sealtrace replay ${sessionFiles.map(safeText).join(" ")} -i KEY --view tree --pid ${f.process.pid}`));
  }
  if (rep.findings.length === 0) out.push("", "No findings.");
  if (rep.droppedFindings) out.push("", st.yellow(`${rep.droppedFindings} further finding(s) not kept (limit reached)`));
  if (ne) {
    out.push("", st.bold(`Not evaluated (${ne}):`));
    for (const n of rep.notEvaluated) out.push(safeText(`  ${n.file}:${n.line}:${n.col}  ${n.title ?? "(untitled)"}${n.id ? ` (${n.id})` : ""}: ${n.reason}`));
  }
  return `${out.join("\n")}\n`;
}
