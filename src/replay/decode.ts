// One kernel record as a plain object, through the same session schema reconstruct.ts reads field by field
// (schema.ts: type numbers, layouts, header offsets, widths) and the same text rules (strings.ts): the view
// the kernel tests, the end-to-end tests and the benches check BPF output with.
import type { Field } from "../events/layouts.js";
import { CURRENT_SCHEMA, type SessionSchema } from "./schema.js";
import { cText } from "./strings.js";

export type FieldValue = number | bigint | string | Uint8Array;

/** A decoded record: the header's fields, the type's fields (u64 as bigint), and the variable-length tail. */
export interface DecodedRecord {
  [field: string]: FieldValue | undefined;
  type: number;
  flags: number;
  tgid: number;
  pid: number;
  start_ns: bigint;
  ts_ns: bigint;
  comm: string;
  tail: Uint8Array;
}

function readField(f: Field, v: DataView, bytes: Uint8Array, at: number): FieldValue | undefined {
  switch (f.kind) {
    case "u8":
      return v.getUint8(at);
    case "u16":
      return v.getUint16(at, true);
    case "u32":
      return v.getUint32(at, true);
    case "s32":
      return v.getInt32(at, true);
    case "u64":
      return v.getBigUint64(at, true);
    case "str":
      return cText(bytes, at, at + f.size);
    case "bytes":
      return bytes.slice(at, at + f.size);
    default:
      return undefined;
  }
}

/**
 * Decodes the record of `length` bytes at `offset` of `bytes` with `schema` (this build's by default).
 * Returns undefined for a type the schema does not know (a newer producer), as replay skips it; throws
 * RangeError when the record is shorter than its type's fixed layout, which replay would skip too.
 */
export function decodeRecord(
  bytes: Uint8Array,
  offset: number,
  length: number,
  schema: SessionSchema = CURRENT_SCHEMA,
): DecodedRecord | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdr = schema.byStruct.get("st_hdr")!;
  if (length < hdr.size) throw new RangeError(`record of ${length} bytes is shorter than its header`);
  const type = v.getUint16(offset + hdr.type, true);
  const o = schema.byType.get(type);
  const fields = schema.fieldsByType.get(type);
  if (!o || !fields) return undefined;
  if (length < o.size) throw new RangeError(`type ${type} record of ${length} bytes, needs ${o.size}`);
  const out: Record<string, FieldValue | undefined> = {};
  for (const f of fields) {
    const value = readField(f, v, bytes, offset + f.offset);
    if (value !== undefined) out[f.name] = value;
  }
  out.tail = bytes.subarray(offset + o.size, offset + length);
  return out as DecodedRecord;
}
