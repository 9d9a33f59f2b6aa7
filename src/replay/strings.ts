// Byte strings from kernel records to JS strings, fast for the common ASCII case: TextDecoder costs
// about a microsecond per call, which dominates replay of short comm/path/argv strings. Nothing is lost:
// bytes that are not valid UTF-8 are kept as escaped bytes (rawbytes.ts), never replaced by U+FFFD.
import { textOfBytes } from "./rawbytes.js";

// fatal: invalid UTF-8 falls back to textOfBytes; ignoreBOM: a leading U+FEFF is data, not a marker to strip.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text of bytes[from, to) up to the first NUL. */
export function cText(bytes: Uint8Array, from: number, to: number): string {
  let end = from;
  while (end < to && bytes[end] !== 0) end++;
  return plain(bytes, from, end);
}

/** A NUL-separated argument area as strings (a trailing NUL ends the last one), as C hands argv to a process. */
export function argList(bytes: Uint8Array, from: number, to: number): string[] {
  // Counted first, so the array is made at its exact length: replay keeps every argv, and push on []
  // reserves 16 slots (the copy that trimmed it was garbage made per exec).
  let n = 0;
  for (let i = from; i <= to; i++) if (i === to ? i > from && bytes[i - 1] !== 0 : bytes[i] === 0) n++;
  const out = new Array<string>(n);
  let k = 0;
  let start = from;
  for (let i = from; i <= to && k < n; i++) {
    if (i === to || bytes[i] === 0) {
      out[k++] = start === i ? "" : plain(bytes, start, i);
      start = i + 1;
    }
  }
  return out;
}

/**
 * Recently made short ASCII strings by a hash of their bytes: replay makes the same comm, image, argv words
 * and paths for every short-lived process, and each new copy is kept (and copied by the young-generation
 * GC) for the rest of the run. A slot is reused only after a full compare with the bytes, so a collision
 * (or a crafted one) costs a new string, never a wrong one. 4,096 strings of at most 64 bytes: < 1 MiB.
 */
const INTERN_SLOTS = 4096;
const INTERN_MAX = 64;
const interned: Array<string | undefined> = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/**
 * Below this length `+=` gives a flat string; from it on V8 makes a cons-string node per character, and
 * replay keeps such strings (paths, argv) for every process: ~32 bytes a character instead of one.
 */
const CONS_MIN_LENGTH = 13;

function plain(bytes: Uint8Array, from: number, to: number): string {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return utf8OrEscaped(bytes, from, to);
    h = Math.imul(h ^ b, 0x01000193);
  }
  const len = to - from;
  if (len > INTERN_MAX)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", from, to);
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const seen = interned[slot];
  if (seen !== undefined && seen.length === len) {
    let i = 0;
    while (i < len && seen.charCodeAt(i) === bytes[from + i]) i++;
    if (i === len) return seen;
  }
  let s: string;
  if (len >= CONS_MIN_LENGTH)
    s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", from, to);
  else {
    s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
  }
  interned[slot] = s;
  return s;
}

function utf8OrEscaped(bytes: Uint8Array, from: number, to: number): string {
  try {
    return utf8.decode(bytes.subarray(from, to));
  } catch {
    return textOfBytes(bytes, from, to);
  }
}

/**
 * Its parts joined by `:` as one flat string. A template literal of an id's length is a tree of cons-string
 * nodes over the pieces, and replay keeps an id for every process, connection and file: ~5 heap objects
 * each, which the young-generation GC copies, instead of one.
 */
export function flatId(...parts: Array<string | number | bigint>): string {
  return parts.join(":");
}
