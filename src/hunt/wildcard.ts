// Sigma string values with wildcards: `*` (any run), `?` (one character), and `\` escapes, compiled once
// to the cheapest test (equality, prefix, suffix, substring, else an anchored regex).

export type Piece = { lit: string } | "*" | "?";

/**
 * Splits a Sigma value into literal text and wildcards. Escapes follow the Sigma specification: `\*` and
 * `\?` are a literal `*`/`?`, `\\` is one backslash (so `\\*` is a backslash then a wildcard), and a
 * backslash before anything else is itself.
 */
export function parseWildcards(value: string): Piece[] {
  const out: Piece[] = [];
  let lit = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\") {
      const n = value[i + 1];
      if (n === "*" || n === "?" || n === "\\") {
        lit += n;
        i++;
      } else lit += c;
    } else if (c === "*" || c === "?") {
      if (lit) out.push({ lit });
      lit = "";
      out.push(c);
    } else lit += c;
  }
  if (lit) out.push({ lit });
  return out;
}

/** A literal value as pieces (base64 output and fieldref values carry no wildcards). */
export function literal(value: string): Piece[] {
  return value ? [{ lit: value }] : [];
}

/** Pieces back to Sigma text, escaping literal wildcards and backslashes (for combining modifiers). */
export function pieceText(pieces: readonly Piece[]): string {
  return pieces.map((p) => (typeof p === "string" ? p : p.lit.replace(/[\\*?]/g, (c) => `\\${c}`))).join("");
}

export type StringTest = (s: string) => boolean;

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * A test for the pattern. With `lower`, literals are lower-cased here and the caller passes lower-cased
 * text: Sigma matches case-insensitively unless `cased`.
 */
export function compilePattern(pieces: readonly Piece[], lower: boolean): StringTest {
  const ps = lower ? pieces.map((p) => (typeof p === "string" ? p : { lit: p.lit.toLowerCase() })) : pieces;
  const lits = ps.filter((p): p is { lit: string } => typeof p !== "string");
  const stars = ps.filter((p) => p === "*").length;
  const qs = ps.filter((p) => p === "?").length;
  if (qs === 0 && lits.length <= 1) {
    const l = lits[0]?.lit ?? "";
    if (stars === 0) return (s) => s === l;
    if (lits.length === 0) return () => true;
    const lead = ps[0] === "*";
    const trail = ps[ps.length - 1] === "*";
    if (lead && trail && stars === 2) return (s) => s.includes(l);
    if (lead && stars === 1) return (s) => s.endsWith(l);
    if (trail && stars === 1) return (s) => s.startsWith(l);
  }
  const re = new RegExp(
    `^${ps.map((p) => (p === "*" ? "[\\s\\S]*" : p === "?" ? "[\\s\\S]" : reEscape(p.lit))).join("")}$`,
  );
  return (s) => re.test(s);
}
