// `hunt --format html`: the replay HTML report with each finding marked on its process's lane and listed
// above the lanes (src/replay/html.ts escapes everything it is given).
import { renderHtml } from "../replay/html.js";
import type { Replay } from "../replay/model.js";
import type { Finding } from "./evaluate.js";
import type { Report } from "./report.js";

/** `ordered` are the findings in the report's order. */
const CSS = `.mark-finding{background:#d50000;top:0;height:20px;width:10px;margin-left:-5px;border:1px solid #000;z-index:2}
.extra{margin:8px 16px;padding:0 0 0 18px;font-size:12px}.extra li{margin:2px 0;white-space:pre-wrap}.extra .sev-high,.extra .sev-critical{color:#b71c1c;font-weight:600}
`;

export function renderHuntHtml(r: Replay, rep: Report, ordered: readonly Finding[]): string {
  const marks = rep.findings.flatMap((f, i) => {
    const pid = ordered[i]?.processId;
    if (pid === undefined) return [];
    return ordered[i]!.events.map((e, j) => ({
      processId: pid,
      timeNs: e.timeNs,
      cls: "finding",
      tip: `${f.rule.level.toUpperCase()} ${f.rule.title} (${f.rule.id})\n${f.events[j]?.time ?? ""}  ${f.events[j]?.summary ?? ""}`,
    }));
  });
  const items = rep.findings.map((f) => ({
    cls: `sev-${f.rule.level}`,
    text: `${f.rule.level.toUpperCase()}  ${f.rule.title}  ${f.rule.attack.join(" ")}  — ${f.process ? `${f.process.comm} [${f.process.pid}] on ${f.process.host}` : "process unknown"}, ${f.count} event(s) from ${f.firstTime}`,
  }));
  for (const n of rep.notEvaluated)
    items.push({ cls: "sev-none", text: `not evaluated: ${n.file}:${n.line}:${n.col} ${n.title ?? ""} — ${n.reason}` });
  return renderHtml(r, { title: `sealtrace hunt: ${rep.findings.length} finding(s)`, marks, items, css: CSS });
}
