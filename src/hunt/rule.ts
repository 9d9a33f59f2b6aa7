// What hunt knows about a rule: its Sigma metadata, where it was written, and either its compiled test or
// the reason it is not evaluated.
import type { Category } from "./event.js";
import type { EventTest } from "./field.js";

export const LEVELS = ["informational", "low", "medium", "high", "critical"] as const;
export type Level = (typeof LEVELS)[number];

export function levelRank(l: Level): number {
  return LEVELS.indexOf(l);
}

export interface SourceRef {
  file: string;
  line: number;
  col: number;
}

export interface RuleInfo extends SourceRef {
  id: string;
  title: string;
  level: Level;
  tags: string[];
  description: string;
  falsepositives: string[];
}

export interface CompiledRule extends RuleInfo {
  category: Category;
  test: EventTest;
}

/** A rule, or a document that was meant to be one, that hunt does not run, and why. */
export interface NotEvaluated extends SourceRef {
  id: string | undefined;
  title: string | undefined;
  level: Level | undefined;
  reason: string;
}

/** ATT&CK tags: `attack.t1059.004` and tactic names such as `attack.execution`. */
export function attackTags(tags: readonly string[]): string[] {
  return tags.filter((t) => t.toLowerCase().startsWith("attack."));
}
