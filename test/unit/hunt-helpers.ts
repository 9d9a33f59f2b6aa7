// Builds compiled Sigma rules from YAML text and hand-made events for the hunt unit tests.
import { compileRule } from "../../src/hunt/compile.js";
import { SigmaEvent, type Category, type FieldValue } from "../../src/hunt/event.js";
import { parseRuleText } from "../../src/hunt/load.js";
import type { CompiledRule, NotEvaluated } from "../../src/hunt/rule.js";

/** One rule of `category` with this detection block (YAML, indented under `detection:`). */
export function ruleText(detection: string, category: Category = "process_creation", extra = ""): string {
  return `title: test rule\nid: t-1\nlevel: high\n${extra}logsource:\n  product: linux\n  category: ${category}\ndetection:\n${detection.replace(/^/gm, "  ")}\n`;
}

export function compileText(text: string, file = "test.yml"): Array<CompiledRule | NotEvaluated> {
  const { sources, broken } = parseRuleText(file, text);
  return [...broken, ...sources.map(compileRule)];
}

/** Compiles a detection block; throws (failing the test) if the rule is not evaluated. */
export function rule(detection: string, category: Category = "process_creation"): CompiledRule {
  const [r] = compileText(ruleText(detection, category));
  if (!r || !("test" in r)) throw new Error(`not evaluated: ${(r as NotEvaluated | undefined)?.reason}`);
  return r;
}

/** The reason a detection block is not evaluated; throws if it compiles. */
export function reason(detection: string, category: Category = "process_creation"): string {
  const [r] = compileText(ruleText(detection, category));
  if (!r || "test" in r) throw new Error("expected the rule not to be evaluated");
  return r.reason;
}

export function ev(
  fields: Record<string, FieldValue | undefined>,
  category: Category = "process_creation",
): SigmaEvent {
  return new SigmaEvent(category, 1n, "h:1:1", fields);
}
