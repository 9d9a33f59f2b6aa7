// The Sigma `condition`: `and`, `or`, `not`, parentheses, `1 of sel*`, `all of sel*`, `1 of them`,
// `all of them` over named search identifiers, compiled to one test. Aggregations (`| count() …`) and
// `near` need correlation over many events, which hunt does not do: they are reported, not evaluated.
import type { Compiled, EventTest } from "./field.js";

type Node =
  | { k: "id"; name: string }
  | { k: "not"; a: Node }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "of"; n: number | "all"; target: string };

/** Deep enough for any hand-written condition; a deeper one is refused rather than overflowing the stack. */
const MAX_DEPTH = 64;

class ConditionError extends Error {}

function tokenize(text: string): string[] {
  return text
    .replace(/[()]/g, (c) => ` ${c} `)
    .trim()
    .split(/\s+/)
    .filter((t) => t !== "");
}

function parse(text: string): Node {
  const toks = tokenize(text);
  let i = 0;
  const peek = (): string | undefined => toks[i]?.toLowerCase();
  const expr = (depth: number): Node => {
    if (depth > MAX_DEPTH) throw new ConditionError(`nested deeper than ${MAX_DEPTH}`);
    let a = and(depth);
    while (peek() === "or") {
      i++;
      a = { k: "or", a, b: and(depth) };
    }
    return a;
  };
  const and = (depth: number): Node => {
    let a = not(depth);
    while (peek() === "and") {
      i++;
      a = { k: "and", a, b: not(depth) };
    }
    return a;
  };
  const not = (depth: number): Node => {
    if (peek() === "not") {
      i++;
      return { k: "not", a: not(depth + 1) };
    }
    return primary(depth);
  };
  const primary = (depth: number): Node => {
    const t = toks[i];
    if (t === undefined) throw new ConditionError("ends too early");
    const lt = t.toLowerCase();
    if (lt === "(") {
      i++;
      const e = expr(depth + 1);
      if (toks[i] !== ")") throw new ConditionError(`expected ")" at "${toks[i] ?? "end"}"`);
      i++;
      return e;
    }
    if ((lt === "all" || /^\d+$/.test(lt)) && toks[i + 1]?.toLowerCase() === "of") {
      const target = toks[i + 2];
      if (target === undefined || target === "(" || target === ")")
        throw new ConditionError(`"${t} of" needs "them" or a name pattern`);
      i += 3;
      const n = lt === "all" ? "all" : Number(lt);
      if (n === 0) throw new ConditionError(`"0 of" never matches anything; write "not 1 of"`);
      return { k: "of", n, target };
    }
    if (["and", "or", "not", "of", ")"].includes(lt)) throw new ConditionError(`unexpected "${t}"`);
    i++;
    return { k: "id", name: t };
  };
  const root = expr(0);
  if (i < toks.length) throw new ConditionError(`unexpected "${toks[i]}"`);
  return root;
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/**
 * Compiles `condition` (a string, or a list of strings that OR together) over the named selections.
 * Aggregations, `near` and syntax errors come back as a reason.
 */
export function compileCondition(condition: unknown, selections: ReadonlyMap<string, EventTest>): Compiled {
  const texts = Array.isArray(condition) ? condition : [condition];
  if (texts.length === 0 || !texts.every((c): c is string => typeof c === "string" && c.trim() !== "")) {
    return { reason: "detection.condition must be a string or a list of strings" };
  }
  const trees: Node[] = [];
  for (const text of texts) {
    if (/\bnear\b/i.test(text)) return { reason: `"near" needs event correlation, which hunt does not do` };
    if (text.includes("|"))
      return {
        reason: `aggregation "${text.slice(text.indexOf("|")).trim()}" needs event correlation, which hunt does not do`,
      };
    try {
      trees.push(parse(text));
    } catch (e) {
      if (e instanceof ConditionError) return { reason: `condition "${text}": ${e.message}` };
      throw e;
    }
  }
  try {
    const tests = trees.map(build);
    return { test: tests.length === 1 ? tests[0]! : (ev) => tests.some((t) => t(ev)) };
  } catch (e) {
    if (e instanceof ConditionError) return { reason: e.message };
    throw e;
  }

  function build(n: Node): EventTest {
    switch (n.k) {
      case "id": {
        const t = selections.get(n.name);
        if (!t) throw new ConditionError(`condition names "${n.name}", which is not a search identifier of this rule`);
        return t;
      }
      case "not": {
        const a = build(n.a);
        return (ev) => !a(ev);
      }
      case "and": {
        const a = build(n.a);
        const b = build(n.b);
        return (ev) => a(ev) && b(ev);
      }
      case "or": {
        const a = build(n.a);
        const b = build(n.b);
        return (ev) => a(ev) || b(ev);
      }
      case "of": {
        // `them` is every identifier except those starting with "_" (Sigma's convention for helpers).
        const names =
          n.target.toLowerCase() === "them"
            ? [...selections.keys()].filter((k) => !k.startsWith("_"))
            : [...selections.keys()].filter((k) => globToRegExp(n.target).test(k));
        if (names.length === 0) throw new ConditionError(`"${n.n} of ${n.target}" matches no search identifier`);
        const ts = names.map((k) => selections.get(k)!);
        if (n.n === "all") return (ev) => ts.every((t) => t(ev));
        const need = n.n;
        if (need === 1) return (ev) => ts.some((t) => t(ev));
        return (ev) => {
          let c = 0;
          for (const t of ts) if (t(ev) && ++c >= need) return true;
          return false;
        };
      }
    }
  }
}
