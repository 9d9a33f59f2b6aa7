// JSON that is well-formed Unicode (I-JSON, RFC 7493) and still gives back the recorded bytes: a string
// field that holds bytes which were not valid UTF-8 is written with U+FFFD for each such byte, and a
// sibling `<field>Base64` carries its exact bytes (docs/REPLAY.md, "Exact bytes"). DEL, C1 and bidi code
// points are written as \uXXXX escapes too, so a pager or `cat` of the file shows nothing raw.
import { bytesOfText, isExactText, wellFormed } from "./rawbytes.js";

const base64 = (s: string): string => bytesOfText(s).toString("base64");

/**
 * A JSON.stringify replacer. For an object, adds `<key>Base64` beside each string value that is not
 * well-formed text, and beside each array of strings that holds one (an array of base64 strings, one per
 * element). Every string written is then made well-formed.
 */
export function exactBytes(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "string") return isExactText(value) ? value : wellFormed(value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  const o = value as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (
      typeof v === "string"
        ? !isExactText(v)
        : Array.isArray(v) && v.some((x) => typeof x === "string" && !isExactText(x))
    ) {
      out ??= { ...o };
      out[`${k}Base64`] =
        typeof v === "string" ? base64(v) : (v as unknown[]).map((x) => (typeof x === "string" ? base64(x) : null));
    }
  }
  return out ?? value;
}

/** What JSON.stringify leaves raw but a terminal or viewer acts on; only ever inside strings in JSON text. */
const RAW_IN_JSON = /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** JSON.stringify with exactBytes, and DEL/C1/bidi/separator code points as \uXXXX escapes (same value). */
export function exactJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, exactBytes, indent).replace(
    RAW_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
