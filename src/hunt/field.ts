// One detection item `Field|modifier|…: value(s)` compiled to a test on an event (Sigma value modifiers).
import { inNetwork, parseCidr } from "./cidr.js";
import { base64, base64Offsets, windash } from "./encode.js";
import type { SigmaEvent } from "./event.js";
import { compilePattern, literal, parseWildcards, type Piece, type StringTest } from "./wildcard.js";

export type EventTest = (ev: SigmaEvent) => boolean;
/** A compiled item, or why it cannot be evaluated. */
export type Compiled = { test: EventTest } | { reason: string };

const SUPPORTED = new Set([
  "contains",
  "startswith",
  "endswith",
  "all",
  "re",
  "i",
  "m",
  "s",
  "cidr",
  "base64",
  "base64offset",
  "windash",
  "exists",
  "gt",
  "gte",
  "lt",
  "lte",
  "cased",
  "fieldref",
]);
/** Sigma modifiers we know but cannot honour on Linux text fields, with the reason given to the user. */
const UNSUPPORTED: Record<string, string> = {
  utf16le: "UTF-16 encodings apply to Windows binary fields; sealtrace fields are text",
  utf16be: "UTF-16 encodings apply to Windows binary fields; sealtrace fields are text",
  utf16: "UTF-16 encodings apply to Windows binary fields; sealtrace fields are text",
  wide: "UTF-16 encodings apply to Windows binary fields; sealtrace fields are text",
  expand: "placeholders (%name%) need a placeholder configuration, which hunt does not have",
};

type Scalar = string | number | boolean | null;

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

const fail = (reason: string): Compiled => ({ reason });

/**
 * Compiles `key` (a field name and its modifiers) with `value` (a scalar or a list). `fields` lists the
 * field names the rule's category carries; any other field makes the item not evaluable.
 */
export function compileField(key: string, value: unknown, fields: ReadonlySet<string>): Compiled {
  const [field, ...mods] = key.split("|");
  if (!field) return fail(`"${key}": an empty field name`);
  for (const m of mods) {
    if (UNSUPPORTED[m] !== undefined) return fail(`modifier "${m}" is not supported: ${UNSUPPORTED[m]}`);
    if (!SUPPORTED.has(m)) return fail(`unknown modifier "${m}" on ${field}`);
  }
  if (!fields.has(field))
    return fail(`field "${field}" is not recorded for this category (docs/HUNT.md lists the mapped fields)`);
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  if (!values.every(isScalar)) return fail(`${key}: values must be scalars or a list of scalars`);
  const has = (m: string): boolean => mods.includes(m);
  const all = has("all");
  const combine = (tests: EventTest[]): EventTest => {
    if (tests.length === 1) return tests[0]!;
    return all ? (ev) => tests.every((t) => t(ev)) : (ev) => tests.some((t) => t(ev));
  };

  if (has("exists")) {
    if (mods.length !== 1 || values.length !== 1 || typeof values[0] !== "boolean")
      return fail(`${key}: exists takes true or false alone`);
    const want = values[0];
    return { test: (ev) => ev.has(field) === want };
  }
  const numeric = mods.filter((m) => m === "gt" || m === "gte" || m === "lt" || m === "lte");
  if (numeric.length > 0) {
    if (mods.length !== 1) return fail(`${key}: ${numeric[0]} cannot be combined with other modifiers`);
    const nums = values.map((v) =>
      typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN,
    );
    if (nums.some((n) => !Number.isFinite(n))) return fail(`${key}: ${numeric[0]} needs a number`);
    const op = numeric[0]!;
    const cmp =
      op === "gt"
        ? (a: number, b: number) => a > b
        : op === "gte"
          ? (a: number, b: number) => a >= b
          : op === "lt"
            ? (a: number, b: number) => a < b
            : (a: number, b: number) => a <= b;
    return {
      test: combine(
        nums.map((n) => (ev: SigmaEvent) => {
          const t = ev.text(field);
          if (t === undefined || t.trim() === "") return false;
          const x = Number(t);
          return Number.isFinite(x) && cmp(x, n);
        }),
      ),
    };
  }
  if (has("cidr")) {
    if (mods.some((m) => m !== "cidr" && m !== "all"))
      return fail(`${key}: cidr cannot be combined with ${mods.filter((m) => m !== "cidr").join(", ")}`);
    const nets = values.map((v) => parseCidr(String(v)));
    const bad = values.find((_, i) => nets[i] === undefined);
    if (bad !== undefined) return fail(`${key}: "${String(bad)}" is not a CIDR network`);
    return {
      test: combine(
        nets.map((n) => (ev: SigmaEvent) => {
          const t = ev.text(field);
          return t !== undefined && inNetwork(t, n!);
        }),
      ),
    };
  }
  if (has("re")) {
    const other = mods.filter((m) => !["re", "i", "m", "s", "all"].includes(m));
    if (other.length) return fail(`${key}: re cannot be combined with ${other.join(", ")}`);
    const flags = (has("i") ? "i" : "") + (has("m") ? "m" : "") + (has("s") ? "s" : "");
    const res: RegExp[] = [];
    for (const v of values) {
      if (typeof v !== "string") return fail(`${key}: re needs a string`);
      try {
        res.push(new RegExp(v, flags));
      } catch (e) {
        return fail(`${key}: regular expression ${JSON.stringify(v)} does not compile: ${(e as Error).message}`);
      }
    }
    return {
      test: combine(
        res.map((re) => (ev: SigmaEvent) => {
          const t = ev.text(field);
          return t !== undefined && re.test(t);
        }),
      ),
    };
  }
  if (mods.some((m) => m === "i" || m === "m" || m === "s")) return fail(`${key}: i, m and s are sub-modifiers of re`);
  const cased = has("cased");
  const position = mods.filter((m) => m === "contains" || m === "startswith" || m === "endswith");
  if (position.length > 1) return fail(`${key}: ${position.join(" and ")} cannot be combined`);
  const wrap = (p: Piece[]): Piece[] => {
    switch (position[0]) {
      case "contains":
        return ["*", ...p, "*"];
      case "startswith":
        return [...p, "*"];
      case "endswith":
        return ["*", ...p];
      default:
        return p;
    }
  };

  if (has("fieldref")) {
    if (mods.some((m) => ["base64", "base64offset", "windash"].includes(m)))
      return fail(`${key}: fieldref cannot be combined with encodings`);
    const refs = values.map(String);
    const missing = refs.find((r) => !fields.has(r));
    if (missing !== undefined) return fail(`${key}: referenced field "${missing}" is not recorded for this category`);
    const how = position[0];
    return {
      test: combine(
        refs.map((ref) => (ev: SigmaEvent) => {
          const a = cased ? ev.text(field) : ev.lower(field);
          const b = cased ? ev.text(ref) : ev.lower(ref);
          if (a === undefined || b === undefined) return false;
          return how === "contains"
            ? a.includes(b)
            : how === "startswith"
              ? a.startsWith(b)
              : how === "endswith"
                ? a.endsWith(b)
                : a === b;
        }),
      ),
    };
  }

  const tests: EventTest[] = [];
  for (const v of values) {
    if (v === null) {
      // `Field: null`: the field is absent or empty.
      tests.push((ev) => {
        const t = ev.text(field);
        return t === undefined || t === "";
      });
      continue;
    }
    let variants = [String(v)];
    if (has("windash")) variants = variants.flatMap(windash);
    let pieces: Piece[][];
    // base64 text is case-significant: its variants are always matched cased.
    let lower = !cased;
    if (has("base64") || has("base64offset")) {
      if (has("base64") && has("base64offset")) return fail(`${key}: base64 and base64offset cannot be combined`);
      pieces = variants.flatMap((x) => (has("base64") ? [base64(x)] : base64Offsets(x))).map(literal);
      lower = false;
    } else pieces = variants.map(parseWildcards);
    const matchers: StringTest[] = pieces.map((p) => compilePattern(wrap(p), lower));
    const one: StringTest = matchers.length === 1 ? matchers[0]! : (s) => matchers.some((m) => m(s));
    tests.push(
      lower
        ? (ev) => {
            const t = ev.lower(field);
            return t !== undefined && one(t);
          }
        : (ev) => {
            const t = ev.text(field);
            return t !== undefined && one(t);
          },
    );
  }
  if (tests.length === 0) return { test: () => false };
  return { test: combine(tests) };
}

/** Unfielded keywords: a value matches when any field of the event contains it (wildcards apply). */
export function compileKeywords(values: readonly unknown[]): Compiled {
  if (!values.every((v) => isScalar(v) && v !== null)) return fail("keywords must be strings or numbers");
  const ms = values.map((v) => compilePattern(["*", ...parseWildcards(String(v)), "*"], true));
  return { test: (ev) => ev.lowerValues().some((t) => ms.some((m) => m(t))) };
}
