// Session text made safe for a terminal: a hostile host chooses argv and paths, so control bytes and
// bidi overrides are shown as visible escapes, never sent raw (DESIGN "Evidence is hostile input").

// C0 and C1 controls, DEL, and the Unicode bidi embeddings/overrides/isolates and marks (UAX #9).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control or bidi character written as `\xNN` or `\u{NNNN}`. */
export function safeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.codePointAt(0)!;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}
