// Field offsets for decoding a session's kernel records, taken from the session's own stored schema
// (metadata.schema, docs/RECORDS.md) so an old file replays with the layouts it was written with.
import { ALL_LAYOUTS, EV, type Layout } from "../events/layouts.js";

const FIELDS = [
  "type",
  "flags",
  "ts_ns",
  "tgid",
  "pid",
  "start_ns",
  "ppid",
  "uid",
  "cgroup_id",
  "comm",
  "child_tgid",
  "child_start_ns",
  "filename_len",
  "argv_len",
  "cwd_len",
  "trunc",
  "exit_code",
  "exit_ns",
  "exe_len",
  "sock_id",
  "enter_ns",
  "ret",
  "family",
  "protocol",
  "sport",
  "dport",
  "saddr",
  "daddr",
  "oldstate",
  "newstate",
  "state",
  "dev",
  "ino",
  "path_len",
  "path_flags",
  "path2_len",
  "mode",
  "bytes",
  "calls",
  "first_ns",
  "last_ns",
  "retransmits",
  "send_resets",
  "recv_resets",
  "segs",
  "sk_err",
  "exe_dev",
  "exe_ino",
  "exe_size",
  "exe_mtime_ns",
  "exe_ctime_ns",
  "exe_nlink",
  "exe_mode",
  "exe_flags",
] as const;

/**
 * Byte offsets of one struct's fields (-1: absent) and its fixed `size`. One class, every field always
 * present, so the hot decoder's property reads stay monomorphic whatever the record type.
 */
export class Offsets {
  size = 0;
  type = -1;
  flags = -1;
  ts_ns = -1;
  tgid = -1;
  pid = -1;
  start_ns = -1;
  ppid = -1;
  uid = -1;
  cgroup_id = -1;
  comm = -1;
  child_tgid = -1;
  child_start_ns = -1;
  filename_len = -1;
  argv_len = -1;
  cwd_len = -1;
  trunc = -1;
  exit_code = -1;
  exit_ns = -1;
  exe_len = -1;
  sock_id = -1;
  enter_ns = -1;
  ret = -1;
  family = -1;
  protocol = -1;
  sport = -1;
  dport = -1;
  saddr = -1;
  daddr = -1;
  oldstate = -1;
  newstate = -1;
  state = -1;
  dev = -1;
  ino = -1;
  path_len = -1;
  path_flags = -1;
  path2_len = -1;
  mode = -1;
  bytes = -1;
  calls = -1;
  first_ns = -1;
  last_ns = -1;
  retransmits = -1;
  send_resets = -1;
  recv_resets = -1;
  segs = -1;
  sk_err = -1;
  exe_dev = -1;
  exe_ino = -1;
  exe_size = -1;
  exe_mtime_ns = -1;
  exe_ctime_ns = -1;
  exe_nlink = -1;
  exe_mode = -1;
  exe_flags = -1;
}

type FieldName = (typeof FIELDS)[number];
const KNOWN = new Set<string>(FIELDS);

/** Offsets (and fixed sizes) per record type, plus the map layouts replay reads. */
export interface SessionSchema {
  readonly ev: Readonly<Record<string, number>>;
  /** Per record type number: its struct's offsets. */
  readonly byType: ReadonlyMap<number, Offsets>;
  readonly byStruct: ReadonlyMap<string, Offsets>;
}

const TYPE_STRUCT: ReadonlyArray<[string, string]> = [
  ["fork", "st_fork"],
  ["exec", "st_exec"],
  ["exit", "st_exit"],
  ["task", "st_task"],
  ["connect", "st_connect"],
  ["accept", "st_connect"],
  ["sockState", "st_sock_state"],
  ["sock", "st_sock_state"],
  ["retransmit", "st_tcp_event"],
  ["sendReset", "st_tcp_event"],
  ["recvReset", "st_tcp_event"],
  ["fileOpen", "st_file_open"],
  ["fileWrite", "st_file_write"],
  ["unlink", "st_file_op"],
  ["rename", "st_file_op"],
  ["chmod", "st_file_op"],
];

/** ST_EV_ACCEPT, for schemas written before `accept` joined EV. */
const ACCEPT_TYPE = 13;

function flatten(layout: Layout, all: ReadonlyMap<string, Layout>): Offsets {
  const out = new Offsets();
  out.size = layout.size;
  const set = (name: string, offset: number) => {
    if (KNOWN.has(name)) out[name as FieldName] = offset;
  };
  for (const f of layout.fields) {
    if (f.kind === "hdr") {
      const hdr = all.get("st_hdr");
      if (hdr) for (const h of hdr.fields) set(h.name, f.offset + h.offset);
    } else {
      set(f.name, f.offset);
    }
  }
  return out;
}

/**
 * Offsets from a session's checked schema (replay/metadata.ts parseSessionMetadata); this build's layouts
 * and type numbers stand in for anything it does not store.
 */
export function sessionSchema(stored: {
  layouts: readonly Layout[] | undefined;
  ev: Readonly<Record<string, number>>;
}): SessionSchema {
  const structs = new Map<string, Layout>(ALL_LAYOUTS.map((l) => [l.cName, l]));
  for (const l of stored.layouts ?? []) structs.set(l.cName, l);
  const ev: Record<string, number> = { ...EV, accept: ACCEPT_TYPE, ...stored.ev };
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
