// Value transforms of the Sigma modifiers `base64`, `base64offset` and `windash`: each turns one value into
// the strings a match must look for.

/** `base64`: the value's UTF-8 bytes, base64-encoded with padding. */
export function base64(value: string): string {
  return Buffer.from(value, "utf8").toString("base64");
}

/**
 * `base64offset`: the three encodings the value can have inside a longer base64 text, one per byte offset
 * (0, 1, 2) of its start. The characters that depend on the unknown neighbouring bytes are cut off: at the
 * start 0, 2 or 3 characters, at the end as many as the last partial group spans.
 */
export function base64Offsets(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const enc = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const start = [0, 2, 3][offset]!;
    const rem = (bytes.length + offset) % 3;
    const end = rem === 0 ? enc.length : enc.length - (rem === 1 ? 3 : 2);
    const s = enc.slice(start, end);
    if (s.length > 0 && !out.includes(s)) out.push(s);
  }
  return out;
}

/** The dashes Windows command lines accept for an option: `-`, `/`, en dash, em dash, horizontal bar. */
const DASHES = ["-", "/", "\u2013", "\u2014", "\u2015"];
/** More options than this in one value would make 5^n variants: the rest stay as written. */
const MAX_DASH_POSITIONS = 4;

/**
 * `windash`: every variant of the value with each option dash (a `-` or `/` at the start or after
 * whitespace) replaced by each of DASHES.
 */
export function windash(value: string): string[] {
  const at: number[] = [];
  for (let i = 0; i < value.length && at.length < MAX_DASH_POSITIONS; i++) {
    if ((value[i] === "-" || value[i] === "/") && (i === 0 || /\s/.test(value[i - 1]!))) at.push(i);
  }
  let out = [value];
  for (const i of at) out = out.flatMap((v) => DASHES.map((d) => v.slice(0, i) + d + v.slice(i + 1)));
  return [...new Set(out)];
}
