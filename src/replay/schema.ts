// Field offsets for decoding a session's kernel records, taken from the session's own stored schema
// (metadata.schema, docs/RECORDS.md) so an old file replays with the layouts it was written with.
import { ALL_LAYOUTS, EV, type Field, type FieldKind, type Layout } from "../events/layouts.js";

/**
 * Every field replay reads, and the kind it reads it as (reconstruct.ts: u16 with getUint16, s32 with
 * getInt32, str and bytes as 16 bytes). A session's stored layout must give each of these fields exactly
 * this kind and width (replay/metadata.ts refuses it otherwise), so the fixed-width reads of the hot
 * loop are the stored widths.
 */
export const READ_KIND = {
  type: "u16",
  flags: "u16",
  ts_ns: "u64",
  tgid: "u32",
  pid: "u32",
  start_ns: "u64",
  ppid: "u32",
  uid: "u32",
  cgroup_id: "u64",
  comm: "str",
  child_tgid: "u32",
  child_start_ns: "u64",
  filename_len: "u16",
  argv_len: "u16",
  cwd_len: "u16",
  trunc: "u16",
  exit_code: "s32",
  exit_ns: "u64",
  exe_len: "u16",
  sock_id: "u64",
  enter_ns: "u64",
  ret: "s32",
  family: "u16",
  protocol: "u16",
  sport: "u16",
  dport: "u16",
  saddr: "bytes",
  daddr: "bytes",
  oldstate: "s32",
  newstate: "s32",
  state: "s32",
  dev: "u64",
  ino: "u64",
  path_len: "u16",
  path_flags: "u16",
  path2_len: "u16",
  mode: "u32",
  bytes: "u64",
  calls: "u64",
  first_ns: "u64",
  last_ns: "u64",
  retransmits: "u64",
  send_resets: "u64",
  recv_resets: "u64",
  segs: "u16",
  sk_err: "s32",
  exe_dev: "u64",
  exe_ino: "u64",
  exe_size: "u64",
  exe_mtime_ns: "u64",
  exe_ctime_ns: "u64",
  exe_nlink: "u32",
  exe_mode: "u16",
  exe_flags: "u16",
  new_uid: "u32",
  new_euid: "u32",
  new_suid: "u32",
  new_fsuid: "u32",
  new_gid: "u32",
  new_egid: "u32",
  new_sgid: "u32",
  new_fsgid: "u32",
  old_uid: "u32",
  old_euid: "u32",
  old_suid: "u32",
  old_fsuid: "u32",
  old_gid: "u32",
  old_egid: "u32",
  old_sgid: "u32",
  old_fsgid: "u32",
  aux: "u32",
  arg0: "u64",
  arg1: "u64",
  arg2: "u64",
  arg3: "u64",
  new_cap_eff: "u64",
  new_cap_perm: "u64",
  old_cap_eff: "u64",
  old_cap_perm: "u64",
  op: "u16",
  pflags: "u16",
  str1_len: "u16",
  str2_len: "u16",
  str3_len: "u16",
  target: "s32",
  aux_comm: "str",
} as const satisfies Readonly<Record<string, FieldKind>>;

/** Bytes of each fixed-width kind; `str` and `bytes` are the 16 of ST_COMM_LEN and ST_ADDR_LEN where replay reads them. */
export const KIND_BYTES: Readonly<Record<FieldKind, number | undefined>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  s32: 4,
  u64: 8,
  str: undefined,
  bytes: undefined,
  hdr: undefined,
  pad: undefined,
};

/** The width replay reads `name` with, or undefined for a field it does not read. */
export function readWidth(name: string): number | undefined {
  const kind = (READ_KIND as Readonly<Record<string, FieldKind>>)[name];
  return kind === undefined ? undefined : (KIND_BYTES[kind] ?? 16);
}

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
  new_uid = -1;
  new_euid = -1;
  new_suid = -1;
  new_fsuid = -1;
  new_gid = -1;
  new_egid = -1;
  new_sgid = -1;
  new_fsgid = -1;
  old_uid = -1;
  old_euid = -1;
  old_suid = -1;
  old_fsuid = -1;
  old_gid = -1;
  old_egid = -1;
  old_sgid = -1;
  old_fsgid = -1;
  aux = -1;
  arg0 = -1;
  arg1 = -1;
  arg2 = -1;
  arg3 = -1;
  new_cap_eff = -1;
  new_cap_perm = -1;
  old_cap_eff = -1;
  old_cap_perm = -1;
  op = -1;
  pflags = -1;
  str1_len = -1;
  str2_len = -1;
  str3_len = -1;
  target = -1;
  aux_comm = -1;
}

type FieldName = keyof typeof READ_KIND;
const KNOWN = new Set<string>(Object.keys(READ_KIND));

/** Offsets (and fixed sizes) per record type, plus the map layouts replay reads. */
export interface SessionSchema {
  readonly ev: Readonly<Record<string, number>>;
  /** Per record type number: its struct's offsets. */
  readonly byType: ReadonlyMap<number, Offsets>;
  readonly byStruct: ReadonlyMap<string, Offsets>;
  /** Per record type number: its struct's fields, the header's in place of `hdr` (what decode.ts reads). */
  readonly fieldsByType: ReadonlyMap<number, readonly Field[]>;
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
  ["priv", "st_priv"],
];

/** A struct's fields with the header's fields in place of its `hdr` field, at their offsets in the struct. */
function flatFields(layout: Layout, all: ReadonlyMap<string, Layout>): Field[] {
  const out: Field[] = [];
  for (const f of layout.fields) {
    if (f.kind === "hdr") {
      for (const h of all.get("st_hdr")?.fields ?? []) out.push({ ...h, offset: f.offset + h.offset });
    } else out.push(f);
  }
  return out;
}

function offsets(layout: Layout, fields: readonly Field[]): Offsets {
  const out = new Offsets();
  out.size = layout.size;
  for (const f of fields) if (KNOWN.has(f.name)) out[f.name as FieldName] = f.offset;
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
  const ev: Record<string, number> = { ...EV, ...stored.ev }; // schemas written before `accept` joined EV lack it
  const byStruct = new Map<string, Offsets>();
  const flat = new Map<string, Field[]>();
  for (const [name, l] of structs) {
    const fields = flatFields(l, structs);
    flat.set(name, fields);
    byStruct.set(name, offsets(l, fields));
  }
  const byType = new Map<number, Offsets>();
  const fieldsByType = new Map<number, readonly Field[]>();
  for (const [evName, struct] of TYPE_STRUCT) {
    const type = ev[evName];
    const o = byStruct.get(struct);
    if (type !== undefined && o) {
      byType.set(type, o);
      fieldsByType.set(type, flat.get(struct)!);
    }
  }
  return { ev, byType, byStruct, fieldsByType };
}

/** This build's schema: the layouts and type numbers of src/events/layouts.ts. */
export const CURRENT_SCHEMA: SessionSchema = sessionSchema({ layouts: undefined, ev: {} });
