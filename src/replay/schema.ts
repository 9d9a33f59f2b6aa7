// Field offsets for decoding a session's kernel records, taken from the session's own stored schema
// (metadata.schema, docs/RECORDS.md) so an old file replays with the layouts it was written with.
import { ALL_LAYOUTS, EV, type Layout } from "../events/layouts.js";

export type Offsets = Readonly<Record<string, number>>;

/** Offsets (and fixed sizes) per record type, plus the map layouts replay reads. */
export interface SessionSchema {
  readonly ev: Readonly<Record<string, number>>;
  /** Per record type number: field name → byte offset; `$size` is the fixed size. */
  readonly byType: ReadonlyMap<number, Offsets>;
  readonly byStruct: ReadonlyMap<string, Offsets>;
}

const TYPE_STRUCT: ReadonlyArray<[string, string]> = [
  ["fork", "st_fork"], ["exec", "st_exec"], ["exit", "st_exit"], ["task", "st_task"],
  ["connect", "st_connect"], ["accept", "st_connect"], ["sockState", "st_sock_state"], ["sock", "st_sock_state"],
  ["retransmit", "st_tcp_event"], ["sendReset", "st_tcp_event"], ["recvReset", "st_tcp_event"],
  ["fileOpen", "st_file_open"], ["fileWrite", "st_file_write"], ["unlink", "st_file_op"], ["rename", "st_file_op"], ["chmod", "st_file_op"],
];

/** ST_EV_ACCEPT, for schemas written before `accept` joined EV. */
const ACCEPT_TYPE = 13;

function flatten(layout: Layout, all: ReadonlyMap<string, Layout>): Record<string, number> {
  const out: Record<string, number> = { $size: layout.size };
  for (const f of layout.fields) {
    if (f.kind === "hdr") {
      const hdr = all.get("st_hdr");
      if (hdr) for (const h of hdr.fields) out[h.name] = f.offset + h.offset;
    } else {
      out[f.name] = f.offset;
    }
  }
  return out;
}

function isLayoutList(v: unknown): v is Layout[] {
  return Array.isArray(v) && v.every((l) => typeof l === "object" && l !== null && "cName" in l && "fields" in l);
}

/** Reads `metadata.schema`; falls back to this build's layouts for anything missing. Never throws. */
export function sessionSchema(metadata: unknown): SessionSchema {
  const schema = (metadata as { schema?: { ev?: unknown; layouts?: unknown } } | undefined)?.schema;
  const structs = new Map<string, Layout>(ALL_LAYOUTS.map((l) => [l.cName, l]));
  if (schema && isLayoutList(schema.layouts)) for (const l of schema.layouts) structs.set(l.cName, l);
  const ev: Record<string, number> = { ...EV, accept: ACCEPT_TYPE };
  if (schema && typeof schema.ev === "object" && schema.ev !== null) {
    for (const [k, v] of Object.entries(schema.ev)) if (typeof v === "number") ev[k] = v;
  }
  const byStruct = new Map<string, Offsets>();
  for (const [name, l] of structs) byStruct.set(name, flatten(l, structs));
  const byType = new Map<number, Offsets>();
  for (const [evName, struct] of TYPE_STRUCT) {
    const type = ev[evName];
    const o = byStruct.get(struct);
    if (type !== undefined && o) byType.set(type, o);
  }
  return { ev, byType, byStruct };
}
