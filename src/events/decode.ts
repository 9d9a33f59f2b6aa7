// Decodes raw ring records (bpf/events.h layouts) into plain objects: u64 as bigint, strings as text.
import { HDR, LAYOUT_BY_TYPE, type Layout } from "./layouts.js";

export type FieldValue = number | bigint | string | Uint8Array;

/** A decoded record: the header's fields, the type's fields, and the variable-length tail. */
export interface DecodedRecord {
  [field: string]: FieldValue | undefined;
  type: number;
  tgid: number;
  pid: number;
  start_ns: bigint;
  ts_ns: bigint;
  comm: string;
  tail: Uint8Array;
}

const textDecoder = new TextDecoder("utf-8", { fatal: false });

/** A C string from a fixed char array: up to the first NUL. */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return textDecoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function readFields(
  layout: Layout,
  v: DataView,
  bytes: Uint8Array,
  base: number,
  out: Record<string, FieldValue | undefined>,
): void {
  for (const f of layout.fields) {
    const o = base + f.offset;
    switch (f.kind) {
      case "u8":
        out[f.name] = v.getUint8(o);
        break;
      case "u16":
        out[f.name] = v.getUint16(o, true);
        break;
      case "u32":
        out[f.name] = v.getUint32(o, true);
        break;
      case "s32":
        out[f.name] = v.getInt32(o, true);
        break;
      case "u64":
        out[f.name] = v.getBigUint64(o, true);
        break;
      case "str":
        out[f.name] = cString(bytes.subarray(o, o + f.size));
        break;
      case "bytes":
        out[f.name] = bytes.slice(o, o + f.size);
        break;
      case "hdr":
        readFields(HDR, v, bytes, o, out);
        break;
      case "pad":
        break;
    }
  }
}

/**
 * Decodes one record of `length` bytes at `offset` of `bytes`. Throws RangeError when the record is
 * shorter than its type's fixed layout; returns undefined for an unknown type (a newer producer).
 */
export function decodeRecord(bytes: Uint8Array, offset: number, length: number): DecodedRecord | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (length < HDR.size) throw new RangeError(`record of ${length} bytes is shorter than its header`);
  const layout = LAYOUT_BY_TYPE.get(v.getUint16(offset, true));
  if (!layout) return undefined;
  if (length < layout.size) throw new RangeError(`${layout.cName} record of ${length} bytes, needs ${layout.size}`);
  const out: Record<string, FieldValue | undefined> = {};
  readFields(layout, v, bytes, offset, out);
  out.tail = bytes.subarray(offset + layout.size, offset + length);
  return out as DecodedRecord;
}

/** Splits a NUL-separated argument area into its strings (a trailing NUL ends the last one). */
export function splitArgs(bytes: Uint8Array): string[] {
  if (bytes.length === 0) return [];
  const s = textDecoder.decode(bytes);
  const parts = s.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}
