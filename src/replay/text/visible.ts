// The one function that makes session text safe for a terminal: every code point that a terminal would
// act on, or that reorders or hides what is shown, is written as a visible escape (docs/REPLAY.md,
// "Text output of hostile names"). An OSC 52 clipboard write, a title change, `\r` over a verdict
// line or a right-to-left override then shows up as text an analyst can read.

/**
 * The code points escaped, besides the backslash itself: C0 controls (tab, newline and CR included) and
 * DEL; C1 controls (U+0080–U+009F, some terminals act on them as ESC-sequences); the bidi marks,
 * embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069, the
 * "Trojan Source" set); the line and paragraph separators U+2028/U+2029; and lone surrogates (escaped
 * bytes from rawbytes.ts, or damage).
 */
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|\p{Cs}/gu;

/**
 * `s` with each unsafe code point as an escape, so that the output is plain printable text and maps back
 * to exactly one input: `\\` is a backslash; `\xHH` is the byte HH, either a C0 control or DEL, or a byte
 * that was not valid UTF-8 in the recorded bytes (U+DC80–U+DCFF); `\uHHHH` is the code point U+HHHH (C1,
 * bidi, separators, and a lone surrogate outside the escaped-byte range).
 */
export function visible(s: string): string {
  return isVisible(s) ? s : s.replace(UNSAFE, escapeOne);
}

function escapeOne(c: string): string {
  if (c === "\\") return "\\\\";
  const u = c.charCodeAt(0);
  if (u < 0x20 || u === 0x7f) return `\\x${hex(u, 2)}`;
  if (u >= 0xdc80 && u <= 0xdcff) return `\\x${hex(u - 0xdc00, 2)}`;
  return `\\u${hex(u, 4)}`;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

/** The same set, for a yes/no test (a global regex keeps state between test() calls). */
const ANY_UNSAFE = new RegExp(UNSAFE.source, "u");
/** A superset without the u flag (any surrogate, paired or not): much faster, and rarely matches. */
const MAYBE_UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

/** True when visible(s) === s: the common case, checked without building anything. */
export function isVisible(s: string): boolean {
  return !MAYBE_UNSAFE.test(s) || !ANY_UNSAFE.test(s);
}

/** Length of visible(s), without building it. */
export function visibleLength(s: string): number {
  if (isVisible(s)) return s.length;
  let n = s.length;
  for (const m of s.matchAll(UNSAFE)) n += escapeOne(m[0]).length - m[0].length;
  return n;
}
