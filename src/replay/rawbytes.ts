// Kernel byte strings (comm, argv, paths) as JS strings without loss, and back: valid UTF-8 decodes as
// text, and each byte that is not part of valid UTF-8 becomes the lone surrogate U+DC80–U+DCFF (the
// scheme of Python's "surrogateescape", PEP 383). Valid UTF-8 never decodes to a lone surrogate, so the
// mapping is one-to-one and bytesOfText(textOfBytes(b)) equals b for every b.

const LOW = 0xdc00;
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** Text of bytes[from, to): UTF-8 where valid, U+DC00+byte for every other byte. */
export function textOfBytes(bytes: Uint8Array, from: number, to: number): string {
  const codes: number[] = [];
  let s = "";
  let i = from;
  while (i < to) {
    const b = bytes[i]!;
    const n = sequenceLength(bytes, i, to);
    if (n === 0) {
      codes.push(LOW + b);
      i++;
    } else if (n === 1) {
      codes.push(b);
      i++;
    } else {
      let cp = b & (n === 2 ? 0x1f : n === 3 ? 0x0f : 0x07);
      for (let k = 1; k < n; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
      if (cp > 0xffff) codes.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      else codes.push(cp);
      i += n;
    }
    // fromCharCode takes arguments: keep each call well under V8's argument limit.
    if (codes.length >= 4096) s += String.fromCharCode(...codes.splice(0));
  }
  return s + String.fromCharCode(...codes);
}

/** Length of the well-formed UTF-8 sequence at bytes[i] (Unicode 15, table 3-7), or 0 if it is not one. */
function sequenceLength(bytes: Uint8Array, i: number, to: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < to && bytes[i + k]! >= lo && bytes[i + k]! <= hi;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * The bytes a string stands for: UTF-8, except that U+DC80–U+DCFF give back the byte they escape. Any
 * other lone surrogate (it cannot come from kernel bytes, only from a crafted session's metadata) is
 * written as U+FFFD's bytes.
 */
export function bytesOfText(s: string): Buffer {
  if (!LONE_SURROGATE.test(s)) return Buffer.from(s, "utf8");
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(LONE_SURROGATES)) {
    const at = m.index;
    parts.push(Buffer.from(s.slice(last, at), "utf8"));
    const unit = s.charCodeAt(at);
    parts.push(unit >= 0xdc80 && unit <= 0xdcff ? Buffer.of(unit - LOW) : Buffer.from("\ufffd", "utf8"));
    last = at + 1;
  }
  parts.push(Buffer.from(s.slice(last), "utf8"));
  return Buffer.concat(parts);
}

/** True when `s` is well-formed Unicode text: it holds no escaped byte (and no other lone surrogate). */
export function isExactText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** `s` with every lone surrogate (escaped byte) as U+FFFD: what a reader that wants text only gets. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATES, "\ufffd");
}
