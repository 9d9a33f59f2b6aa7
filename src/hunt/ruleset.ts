// The rules of one hunt: the built-in pack and the analyst's files, compiled once, below-level ones dropped.
import { fileURLToPath } from "node:url";
import { compileRule } from "./compile.js";
import { readRuleFile, ruleFiles } from "./load.js";
import { levelRank, type CompiledRule, type Level, type NotEvaluated } from "./rule.js";

/** The shipped pack: `rules/` at the package root (dist/src/hunt → ../../../rules). */
export const BUILTIN_RULES = fileURLToPath(new URL("../../../rules/", import.meta.url));

export interface RuleSet {
  rules: CompiledRule[];
  notEvaluated: NotEvaluated[];
  /** Rules below --min-level: neither run nor listed. */
  belowLevel: number;
  files: number;
}

/** Compiles every rule under `paths` (files or directories). Throws UserError for a path that cannot be read. */
export function loadRuleSet(paths: readonly string[], minLevel: Level): RuleSet {
  const set: RuleSet = { rules: [], notEvaluated: [], belowLevel: 0, files: 0 };
  for (const root of paths) {
    for (const file of ruleFiles(root)) {
      set.files++;
      const { sources, broken } = readRuleFile(file);
      set.notEvaluated.push(...broken);
      for (const src of sources) {
        const c = compileRule(src);
        if (c.level !== undefined && levelRank(c.level) < levelRank(minLevel)) set.belowLevel++;
        else if ("test" in c) set.rules.push(c);
        else set.notEvaluated.push(c);
      }
    }
  }
  return set;
}
