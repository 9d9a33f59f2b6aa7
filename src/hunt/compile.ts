// A Sigma rule document compiled once to a test over events of its logsource category, or the reason it
// is not evaluated (an unknown modifier, an aggregation, a field or logsource sealtrace does not record).
import { CATEGORIES, CATEGORY_FIELDS, type Category } from "./event.js";
import { compileCondition } from "./condition.js";
import { compileField, compileKeywords, type Compiled, type EventTest } from "./field.js";
import type { RuleSource } from "./load.js";
import { LEVELS, type CompiledRule, type Level, type NotEvaluated } from "./rule.js";

const FIELD_SETS = new Map<Category, ReadonlySet<string>>(CATEGORIES.map((c) => [c, new Set(CATEGORY_FIELDS[c])]));

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

/** A selection: a map (AND of its items), a list of maps (OR), or a list of keywords (OR). */
function compileSelection(value: unknown, fields: ReadonlySet<string>): Compiled {
  const ofMap = (m: Record<string, unknown>): Compiled => {
    const keys = Object.keys(m);
    if (keys.length === 0) return { reason: "an empty selection" };
    const tests: EventTest[] = [];
    for (const k of keys) {
      const c = compileField(k, m[k], fields);
      if ("reason" in c) return c;
      tests.push(c.test);
    }
    return { test: tests.length === 1 ? tests[0]! : (ev) => tests.every((t) => t(ev)) };
  };
  if (isMap(value)) return ofMap(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isMap)) {
      const tests: EventTest[] = [];
      for (const m of value) {
        const c = ofMap(m);
        if ("reason" in c) return c;
        tests.push(c.test);
      }
      return { test: tests.length === 1 ? tests[0]! : (ev) => tests.some((t) => t(ev)) };
    }
    if (value.some(isMap)) return { reason: "a selection mixes maps and keywords" };
    return compileKeywords(value);
  }
  if (typeof value === "string" || typeof value === "number") return compileKeywords([value]);
  return { reason: "a selection must be a map, a list of maps or a list of keywords" };
}

/**
 * Compiles one document. `file` names it in the result; every failure is a NotEvaluated with the place
 * it refers to, never an exception.
 */
export function compileRule(src: RuleSource): CompiledRule | NotEvaluated {
  const doc = src.value;
  const top = src.locate([]);
  if (!isMap(doc))
    return { ...top, id: undefined, title: undefined, level: undefined, reason: "a rule must be a YAML map" };
  const id = str(doc.id);
  const title = str(doc.title);
  const rawLevel = str(doc.level);
  const level =
    rawLevel === undefined
      ? "informational"
      : (LEVELS as readonly string[]).includes(rawLevel.toLowerCase())
        ? (rawLevel.toLowerCase() as Level)
        : undefined;
  const no = (reason: string, path: Array<string | number> = []): NotEvaluated => ({
    ...src.locate(path),
    id,
    title,
    level,
    reason,
  });
  if (doc.action !== undefined)
    return no("rule collections (action: global/reset/repeat) are a Sigma 1 feature hunt does not support", ["action"]);
  if (title === undefined) return no("a rule needs a title");
  if (level === undefined) return no(`level "${rawLevel}": choose one of ${LEVELS.join(", ")}`, ["level"]);
  if (doc.correlation !== undefined)
    return no("correlation rules need event correlation, which hunt does not do", ["correlation"]);
  const ls = doc.logsource;
  if (!isMap(ls)) return no("a rule needs a logsource map", ["logsource"]);
  const product = str(ls.product);
  if (product !== undefined && product.toLowerCase() !== "linux")
    return no(`logsource product "${product}" is not recorded: sealtrace records Linux`, ["logsource", "product"]);
  const service = str(ls.service);
  if (service !== undefined)
    return no(`logsource service "${service}" is not recorded: sealtrace records kernel events, not log services`, [
      "logsource",
      "service",
    ]);
  const category = str(ls.category);
  if (category === undefined)
    return no(`logsource has no category: hunt evaluates ${CATEGORIES.join(", ")}`, ["logsource"]);
  if (!(CATEGORIES as readonly string[]).includes(category))
    return no(`logsource category "${category}" is not recorded: hunt evaluates ${CATEGORIES.join(", ")}`, [
      "logsource",
      "category",
    ]);
  const cat = category as Category;
  const det = doc.detection;
  if (!isMap(det)) return no("a rule needs a detection map", ["detection"]);
  if (det.condition === undefined) return no("detection has no condition", ["detection"]);
  const selections = new Map<string, EventTest>();
  for (const [name, value] of Object.entries(det)) {
    if (name === "condition" || name === "timeframe") continue;
    const c = compileSelection(value, FIELD_SETS.get(cat)!);
    if ("reason" in c) return no(`${name}: ${c.reason}`, ["detection", name]);
    selections.set(name, c.test);
  }
  const cond = compileCondition(det.condition, selections);
  if ("reason" in cond) return no(cond.reason, ["detection", "condition"]);
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(str).filter((x): x is string => x !== undefined) : str(v) !== undefined ? [str(v)!] : [];
  return {
    ...top,
    id: id ?? `${top.file}:${top.line}`,
    title,
    level,
    tags: list(doc.tags),
    description: str(doc.description) ?? "",
    falsepositives: list(doc.falsepositives),
    category: cat,
    test: cond.test,
  };
}
