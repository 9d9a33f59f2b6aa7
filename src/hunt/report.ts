// The hunt report as data: findings ordered by level then time, each with its process identity and parent
// chain. The text, JSON, JSONL and HTML outputs all render this one shape.
import type { ProcessEntity, Replay } from "../replay/model.js";
import { isoFromNs } from "../replay/time.js";
import type { SigmaEvent } from "./event.js";
import type { Finding, HuntResult } from "./evaluate.js";
import { attackTags, levelRank, type NotEvaluated } from "./rule.js";
import { imageAt } from "./timeline.js";

/** Ancestors shown per finding; deeper chains end with the count of the rest. */
const MAX_CHAIN = 12;

export interface ProcessRef {
  id: string;
  host: string;
  pid: number;
  comm: string;
  image: string | null;
  startTime: string;
}

export interface ReportFinding {
  rule: {
    id: string;
    title: string;
    level: string;
    tags: string[];
    attack: string[];
    description: string;
    falsepositives: string[];
    file: string;
    line: number;
  };
  process: ProcessRef | null;
  parents: ProcessRef[];
  count: number;
  firstTime: string;
  events: Array<{ time: string; category: string; summary: string; fields: Record<string, string | number> }>;
}

export interface Report {
  sessions: Array<{ path: string; hostname: string; status: string; bundles: string[] }>;
  rules: { evaluated: number; notEvaluated: number; belowLevel: number };
  events: number;
  findings: ReportFinding[];
  droppedFindings: number;
  notEvaluated: NotEvaluated[];
}

function ref(p: ProcessEntity, atNs: bigint): ProcessRef {
  return {
    id: p.id,
    host: p.host,
    pid: p.pid,
    comm: p.comm,
    image: imageAt(p, atNs)?.filename ?? null,
    startTime: isoFromNs(p.startNs),
  };
}

/** One line describing a matched event (raw session text: escape before printing). */
export function eventSummary(e: SigmaEvent): string {
  const t = (n: string): string => e.text(n) ?? "?";
  switch (e.category) {
    case "process_creation":
      return `exec ${t("CommandLine")}`;
    case "network_connection":
      return `${e.text("Initiated") === "true" ? "connect" : "accept"} ${t("Protocol")} ${t("SourceIp")}:${t("SourcePort")} → ${t("DestinationIp")}:${t("DestinationPort")} (${t("Outcome")})`;
    case "file_event":
      return `write ${t("TargetFilename")} (${t("Bytes")} bytes)`;
    case "file_delete":
      return `delete ${t("TargetFilename")}`;
    case "file_rename":
      return `rename ${t("SourceFilename")} → ${t("TargetFilename")}`;
    case "privilege":
      return `${t("Syscall")} = ${t("Result")}${e.text("Gained") ? ` (gained ${t("Gained")})` : ""}${e.text("TargetProcessId") ? ` → pid ${t("TargetProcessId")}` : ""}`;
  }
}

/** The report, and the findings in the same order (for renderers that need the raw times). */
export function buildReport(r: Replay, h: HuntResult, belowLevel: number): { report: Report; ordered: Finding[] } {
  const byId = new Map(r.processes.map((p) => [p.id, p]));
  const order = (a: Finding, b: Finding): number =>
    levelRank(b.rule.level) - levelRank(a.rule.level) || (a.firstNs < b.firstNs ? -1 : a.firstNs > b.firstNs ? 1 : 0);
  const ordered = [...h.findings].sort(order);
  const findings = ordered.map((f): ReportFinding => {
    const p = f.processId === undefined ? undefined : byId.get(f.processId);
    const parents: ProcessRef[] = [];
    const seen = new Set<string>();
    for (
      let q = p && byId.get(p.parentId ?? "");
      q && parents.length < MAX_CHAIN && !seen.has(q.id);
      q = byId.get(q.parentId ?? "")
    ) {
      seen.add(q.id);
      parents.push(ref(q, f.firstNs));
    }
    const fields = (e: SigmaEvent): Record<string, string | number> =>
      Object.fromEntries(Object.entries(e.fields).filter((x): x is [string, string | number] => x[1] !== undefined));
    return {
      rule: {
        id: f.rule.id,
        title: f.rule.title,
        level: f.rule.level,
        tags: f.rule.tags,
        attack: attackTags(f.rule.tags),
        description: f.rule.description,
        falsepositives: f.rule.falsepositives,
        file: f.rule.file,
        line: f.rule.line,
      },
      process: p ? ref(p, f.firstNs) : null,
      parents,
      count: f.count,
      firstTime: isoFromNs(f.firstNs),
      events: f.events.map((e) => ({
        time: isoFromNs(e.timeNs),
        category: e.category,
        summary: eventSummary(e),
        fields: fields(e),
      })),
    };
  });
  const report: Report = {
    sessions: r.sessions.map((s) => ({ path: s.path, hostname: s.hostname, status: s.status, bundles: s.bundles })),
    rules: { evaluated: h.evaluated.length, notEvaluated: h.notEvaluated.length, belowLevel },
    events: h.events,
    findings,
    droppedFindings: h.droppedFindings,
    notEvaluated: h.notEvaluated,
  };
  return { report, ordered };
}
