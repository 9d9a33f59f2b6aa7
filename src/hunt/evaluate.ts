// Runs compiled rules over a replay: rules are indexed by logsource category, so each event meets only the
// rules of its own kind. Matches group into findings per rule and process; everything kept is bounded.
import type { Replay } from "../replay/model.js";
import { CATEGORIES, CATEGORY_BUNDLE, type Category, type SigmaEvent } from "./event.js";
import type { CompiledRule, NotEvaluated } from "./rule.js";
import { EventSource } from "./timeline.js";

/** Matched events kept per finding (the count stays exact). */
export const MAX_EVENTS_PER_FINDING = 20;
/** Findings kept in all: a hostile or noisy session must not grow the report without bound. */
export const MAX_FINDINGS = 10_000;

export interface Finding {
  rule: CompiledRule;
  processId: string | undefined;
  events: SigmaEvent[];
  /** Matched events, including those not kept. */
  count: number;
  firstNs: bigint;
}

export interface HuntResult {
  findings: Finding[];
  /** The rules that ran. */
  evaluated: CompiledRule[];
  notEvaluated: NotEvaluated[];
  /** Sigma events made from the replay. */
  events: number;
  /** Findings beyond MAX_FINDINGS, counted but not kept. */
  droppedFindings: number;
}

/** Evaluates `rules` over `r`. Rules whose category's bundle no session recorded join `notEvaluated`. */
export function huntReplay(
  r: Replay,
  rules: readonly CompiledRule[],
  notEvaluated: readonly NotEvaluated[],
): HuntResult {
  const recorded = new Set(r.sessions.flatMap((s) => s.bundles));
  const index = new Map<Category, CompiledRule[]>();
  const skipped: NotEvaluated[] = [];
  const unrecorded = new Set<CompiledRule>();
  for (const rule of rules) {
    const bundle = CATEGORY_BUNDLE[rule.category];
    if (!recorded.has(bundle)) {
      unrecorded.add(rule);
      skipped.push({
        file: rule.file,
        line: rule.line,
        col: rule.col,
        id: rule.id,
        title: rule.title,
        level: rule.level,
        reason: `logsource category ${rule.category} needs the ${bundle} bundle, which these sessions did not record`,
      });
      continue;
    }
    const l = index.get(rule.category);
    if (l) l.push(rule);
    else index.set(rule.category, [rule]);
  }
  const byKey = new Map<string, Finding>();
  const findings: Finding[] = [];
  let dropped = 0;
  let events = 0;
  const ruleIndex = new Map(rules.map((r, i) => [r, i]));
  const source = new EventSource(r);
  for (const ev of source.events(new Set(CATEGORIES.filter((c) => index.has(c))))) {
    events++;
    for (const rule of index.get(ev.category)!) {
      if (!rule.test(ev)) continue;
      const key = `${ruleIndex.get(rule)}\0${ev.processId ?? ""}`;
      let f = byKey.get(key);
      if (!f) {
        if (findings.length >= MAX_FINDINGS) {
          dropped++;
          continue;
        }
        f = { rule, processId: ev.processId, events: [], count: 0, firstNs: ev.timeNs };
        byKey.set(key, f);
        findings.push(f);
      }
      f.count++;
      if (ev.timeNs < f.firstNs) f.firstNs = ev.timeNs;
      if (f.events.length < MAX_EVENTS_PER_FINDING) f.events.push(ev);
    }
  }
  for (const f of findings) f.events.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  return {
    findings,
    evaluated: rules.filter((x) => !unrecorded.has(x)),
    notEvaluated: [...notEvaluated, ...skipped],
    events,
    droppedFindings: dropped,
  };
}
