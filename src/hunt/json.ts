// `hunt --format json` (one document) and `jsonl` (one finding or not-evaluated rule per line).
import type { Report } from "./report.js";

export function renderHuntJson(rep: Report): string {
  return `${JSON.stringify(rep, null, 2)}\n`;
}

export function renderHuntJsonl(rep: Report): string {
  const lines = [
    ...rep.findings.map((f) => JSON.stringify({ type: "finding", ...f })),
    ...rep.notEvaluated.map((n) => JSON.stringify({ type: "not_evaluated", ...n })),
  ];
  return lines.length ? `${lines.join("\n")}\n` : "";
}
