// `hunt --format json` (one document) and `jsonl` (one finding or not-evaluated rule per line), written
// like replay's JSON: well-formed text, with `<field>Base64` beside any string that was not (docs/REPLAY.md).
import { exactJson } from "../replay/exactjson.js";
import type { Report } from "./report.js";

export function renderHuntJson(rep: Report): string {
  return `${exactJson(rep, 2)}\n`;
}

export function renderHuntJsonl(rep: Report): string {
  const lines = [
    ...rep.findings.map((f) => exactJson({ type: "finding", ...f })),
    ...rep.notEvaluated.map((n) => exactJson({ type: "not_evaluated", ...n })),
  ];
  return lines.length ? `${lines.join("\n")}\n` : "";
}
