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
  const out: string[] = [];
  let start = from;
  for (let i = from; i <= to; i++) {
    if (i === to || bytes[i] === 0) {
      if (i === to && i === start) break;
      out.push(start === i ? "" : plain(bytes, start, i));
      start = i + 1;
    }
  }
  // Exact length: replay keeps every argv, and push on [] reserves 16 slots.
  return out.slice();
}

/**
 * Below this length `+=` gives a flat string; from it on V8 makes a cons-string node per character, and
 * replay keeps such strings (paths, argv) for every process: ~32 bytes a character instead of one.
 */
const CONS_MIN_LENGTH = 13;

function plain(bytes: Uint8Array, from: number, to: number): string {
  for (let i = from; i < to; i++) if (bytes[i]! >= 0x80) return utf8OrEscaped(bytes, from, to);
  if (to - from >= CONS_MIN_LENGTH)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", from, to);
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function utf8OrEscaped(bytes: Uint8Array, from: number, to: number): string {
  try {
    return utf8.decode(bytes.subarray(from, to));
  } catch {
    return textOfBytes(bytes, from, to);
  }
}
