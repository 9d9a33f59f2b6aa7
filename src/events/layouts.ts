// The TypeScript mirror of bpf/events.h: every record's fields with their offsets and sizes, and its enums.
// test/unit/kernel-contract.test.ts checks each table against the BTF of the compiled objects (no root).

export type FieldKind = "u8" | "u16" | "u32" | "s32" | "u64" | "str" | "bytes" | "hdr" | "pad";

export interface Field {
  name: string;
  offset: number;
  size: number;
  kind: FieldKind;
}

export interface Layout {
  /** The C struct name in bpf/events.h. */
  cName: string;
  size: number;
  fields: readonly Field[];
}

/** Builds a layout from fields in declaration order; offsets follow C's natural alignment. */
function layout(cName: string, size: number, spec: ReadonlyArray<readonly [string, FieldKind, number?]>): Layout {
  const fields: Field[] = [];
  let off = 0;
  for (const [name, kind, n] of spec) {
    const size = n ?? { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, str: 16, bytes: 16, hdr: 64, pad: 0 }[kind];
    const align =
      kind === "u64" || kind === "hdr"
        ? 8
        : kind === "u32" || kind === "s32"
          ? 4
          : kind === "u16" || kind === "pad"
            ? 2
            : 1;
    off = Math.ceil(off / align) * align;
    fields.push({ name, offset: off, size, kind });
    off += size;
  }
  if (Math.ceil(off / 8) * 8 !== size) throw new Error(`layout ${cName}: fields end at ${off}, size is ${size}`);
  return { cName, size, fields };
}

export const HDR = layout("st_hdr", 64, [
  ["type", "u16"],
  ["flags", "u16"],
  ["cpu", "u32"],
  ["ts_ns", "u64"],
  ["tgid", "u32"],
  ["pid", "u32"],
  ["start_ns", "u64"],
  ["ppid", "u32"],
  ["uid", "u32"],
  ["cgroup_id", "u64"],
  ["comm", "str", 16],
]);

export const FORK = layout("st_fork", 80, [
  ["hdr", "hdr"],
  ["child_tgid", "u32"],
  ["clone_flags_lo", "u32"],
  ["child_start_ns", "u64"],
]);

export const EXEC = layout("st_exec", 144, [
  ["hdr", "hdr"],
  ["old_pid", "u32"],
  ["gid", "u32"],
  ["euid", "u32"],
  ["egid", "u32"],
  ["argc", "u32"],
  ["args_len", "u32"],
  ["filename_len", "u16"],
  ["argv_len", "u16"],
  ["cwd_len", "u16"],
  ["trunc", "u16"],
  ["exe_dev", "u64"],
  ["exe_ino", "u64"],
  ["exe_size", "u64"],
  ["exe_mtime_ns", "u64"],
  ["exe_ctime_ns", "u64"],
  ["exe_nlink", "u32"],
  ["exe_mode", "u16"],
  ["exe_flags", "u16"],
]);

export const PROC_EXIT = layout("st_exit", 80, [
  ["hdr", "hdr"],
  ["exit_code", "s32"],
  ["nr_threads_pad", "u32"],
  ["exit_ns", "u64"],
]);

export const TASK = layout("st_task", 80, [
  ["hdr", "hdr"],
  ["argc_pad", "u32"],
  ["args_len", "u32"],
  ["exe_len", "u16"],
  ["argv_len", "u16"],
  ["trunc", "u16"],
  ["pad", "u16"],
]);

export const CONNECT = layout("st_connect", 136, [
  ["hdr", "hdr"],
  ["sock_id", "u64"],
  ["enter_ns", "u64"],
  ["ret", "s32"],
  ["fd", "s32"],
  ["family", "u16"],
  ["sock_type", "u16"],
  ["protocol", "u16"],
  ["sport", "u16"],
  ["dport", "u16"],
  ["pad", "pad", 6],
  ["saddr", "bytes", 16],
  ["daddr", "bytes", 16],
]);

export const SOCK_STATE = layout("st_sock_state", 128, [
  ["hdr", "hdr"],
  ["sock_id", "u64"],
  ["oldstate", "s32"],
  ["newstate", "s32"],
  ["family", "u16"],
  ["protocol", "u16"],
  ["sport", "u16"],
  ["dport", "u16"],
  ["saddr", "bytes", 16],
  ["daddr", "bytes", 16],
  ["sk_err", "s32"],
  ["pad", "u32"],
]);

export const TCP_EVENT = layout("st_tcp_event", 120, [
  ["hdr", "hdr"],
  ["sock_id", "u64"],
  ["state", "s32"],
  ["family", "u16"],
  ["sport", "u16"],
  ["dport", "u16"],
  ["segs", "u16"],
  ["reason", "u16"],
  ["err", "u16"],
  ["saddr", "bytes", 16],
  ["daddr", "bytes", 16],
]);

export const FILE_OPEN = layout("st_file_open", 96, [
  ["hdr", "hdr"],
  ["dev", "u64"],
  ["ino", "u64"],
  ["open_flags", "u32"],
  ["mode", "u32"],
  ["path_len", "u16"],
  ["path_flags", "u16"],
  ["pad", "u32"],
]);

export const FILE_WRITE = layout("st_file_write", 112, [
  ["hdr", "hdr"],
  ["dev", "u64"],
  ["ino", "u64"],
  ["bytes", "u64"],
  ["calls", "u64"],
  ["first_ns", "u64"],
  ["last_ns", "u64"],
]);

export const FILE_OP = layout("st_file_op", 80, [
  ["hdr", "hdr"],
  ["ret", "s32"],
  ["mode", "u32"],
  ["path_len", "u16"],
  ["path2_len", "u16"],
  ["path_flags", "u16"],
  ["pad", "u16"],
]);

export const PRIV = layout("st_priv", 232, [
  ["hdr", "hdr"],
  ["ret", "s32"],
  ["target", "s32"],
  ["arg0", "u64"],
  ["arg1", "u64"],
  ["arg2", "u64"],
  ["arg3", "u64"],
  ["new_uid", "u32"],
  ["new_euid", "u32"],
  ["new_suid", "u32"],
  ["new_fsuid", "u32"],
  ["new_gid", "u32"],
  ["new_egid", "u32"],
  ["new_sgid", "u32"],
  ["new_fsgid", "u32"],
  ["new_cap_eff", "u64"],
  ["new_cap_perm", "u64"],
  ["old_uid", "u32"],
  ["old_euid", "u32"],
  ["old_suid", "u32"],
  ["old_fsuid", "u32"],
  ["old_gid", "u32"],
  ["old_egid", "u32"],
  ["old_sgid", "u32"],
  ["old_fsgid", "u32"],
  ["old_cap_eff", "u64"],
  ["old_cap_perm", "u64"],
  ["aux", "u32"],
  ["op", "u16"],
  ["pflags", "u16"],
  ["str1_len", "u16"],
  ["str2_len", "u16"],
  ["str3_len", "u16"],
  ["pad", "u16"],
  ["aux_comm", "str", 16],
]);

export const WRITE_KEY = layout("st_write_key", 32, [
  ["tgid", "u32"],
  ["pad", "u32"],
  ["start_ns", "u64"],
  ["dev", "u64"],
  ["ino", "u64"],
]);
export const WRITE_VAL = layout("st_write_val", 32, [
  ["bytes", "u64"],
  ["calls", "u64"],
  ["first_ns", "u64"],
  ["last_ns", "u64"],
]);
export const FLOW_KEY = layout("st_flow_key", 40, [
  ["saddr", "bytes", 16],
  ["daddr", "bytes", 16],
  ["sport", "u16"],
  ["dport", "u16"],
  ["family", "u16"],
  ["pad", "u16"],
]);
export const FLOW_VAL = layout("st_flow_val", 40, [
  ["retransmits", "u64"],
  ["send_resets", "u64"],
  ["recv_resets", "u64"],
  ["tgid", "u32"],
  ["pad", "u32"],
  ["start_ns", "u64"],
]);
export const OWNER = layout("st_owner", 56, [
  ["tgid", "u32"],
  ["pid", "u32"],
  ["start_ns", "u64"],
  ["ppid", "u32"],
  ["uid", "u32"],
  ["cgroup_id", "u64"],
  ["comm", "str", 16],
  ["syn_ns", "u64"],
]);
export const RING_TEST = layout("st_ring_test", 64, [
  ["seq", "u64"],
  ["cpu_seq", "u64"],
  ["cpu", "u32"],
  ["pad", "u32"],
  ["payload", "bytes", 40],
]);

/** Record type numbers (enum st_ev in bpf/events.h). Part of the session format: never renumber. */
export const EV = {
  fork: 1,
  exec: 2,
  exit: 3,
  task: 4,
  connect: 10,
  sockState: 11,
  sock: 12,
  accept: 13,
  retransmit: 20,
  sendReset: 21,
  recvReset: 22,
  fileOpen: 30,
  fileWrite: 31,
  unlink: 32,
  rename: 33,
  chmod: 34,
  priv: 40,
  ringTest: 100,
} as const;

export type EventName = keyof typeof EV;

/** The fixed layout of each record type. */
export const LAYOUT_BY_TYPE: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  [EV.fork, FORK],
  [EV.exec, EXEC],
  [EV.exit, PROC_EXIT],
  [EV.task, TASK],
  [EV.connect, CONNECT],
  [EV.sockState, SOCK_STATE],
  [EV.sock, SOCK_STATE],
  [EV.accept, CONNECT],
  [EV.retransmit, TCP_EVENT],
  [EV.sendReset, TCP_EVENT],
  [EV.recvReset, TCP_EVENT],
  [EV.fileOpen, FILE_OPEN],
  [EV.fileWrite, FILE_WRITE],
  [EV.unlink, FILE_OP],
  [EV.rename, FILE_OP],
  [EV.chmod, FILE_OP],
  [EV.priv, PRIV],
]);

/** Every layout mirrored from C, for the BTF check and the schema stored in each session. */
export const ALL_LAYOUTS: readonly Layout[] = [
  HDR,
  FORK,
  EXEC,
  PROC_EXIT,
  TASK,
  CONNECT,
  SOCK_STATE,
  TCP_EVENT,
  FILE_OPEN,
  FILE_WRITE,
  FILE_OP,
  WRITE_KEY,
  WRITE_VAL,
  FLOW_KEY,
  FLOW_VAL,
  OWNER,
  RING_TEST,
  PRIV,
];

/** st_hdr.flags (enum st_hdr_flag): whose identity the header carries. */
export const HF = { ownerFromSock: 0x1, ownerUnknown: 0x2 } as const;

/** st_exec.trunc and st_task.trunc (enum st_exec_trunc). */
export const EXEC_TRUNC = { argvTrunc: 0x1, fileTrunc: 0x2, cwdTrunc: 0x4, cwdUnread: 0x8, argvProc: 0x10 } as const;

/** Capture limits of st_exec's variable part in bytes (enum st_exec_max). */
export const EXEC_MAX = { filename: 512, argv: 8192, cwd: 1024 } as const;

/** path_flags of st_file_open and st_file_op (enum st_path_flag). */
export const PATH_FLAG = { trunc: 0x1, openSeen: 0x2, baseUnread: 0x4 } as const;

/** Loss counter indexes (enum st_loss), and the slots of each bundle's `losses` array (ST_LOSS_MAX). */
export const LOSS = { ringFull: 0, mapFull: 1, readFail: 2 } as const;
export const LOSS_SLOTS = 4;

/**
 * A C enum of bpf/events.h and its mirror here: each key, in UPPER_SNAKE_CASE after `prefix`, names one
 * enumerator (sockState: ST_EV_SOCK_STATE). The contract test checks both ways against the objects' BTF.
 */
export interface EnumMirror {
  cName: string;
  prefix: string;
  values: Readonly<Record<string, number>>;
}

/** st_exec.exe_flags (enum st_exe_flag). */
export const EXE_FLAG = { deleted: 0x1, fileless: 0x2, worldWritableDir: 0x4, unread: 0x8 } as const;

/** st_priv.op (enum st_priv_op): which syscall, in numbers of the session format. */
export const PRIV_OP = {
  setuid: 1,
  setgid: 2,
  setreuid: 3,
  setregid: 4,
  setresuid: 5,
  setresgid: 6,
  setfsuid: 7,
  setfsgid: 8,
  capset: 9,
  ptrace: 10,
  initModule: 11,
  finitModule: 12,
  deleteModule: 13,
  bpf: 14,
  mount: 15,
  umount: 16,
  pivotRoot: 17,
  unshare: 18,
  setns: 19,
  memfdCreate: 20,
  prctlSetName: 21,
  kill: 22,
  tgkill: 23,
  pidfdSendSignal: 24,
} as const;

/** st_priv.pflags (enum st_priv_flag). */
export const PRIV_FLAG = { oldCred: 0x1, strTrunc: 0x2, oldComm: 0x4, readFail: 0x8 } as const;

/** Bytes kept of each string argument of st_priv (enum st_priv_max). */
export const PRIV_MAX = { strMax: 256 } as const;

/** Every enum of bpf/events.h with its mirror. */
export const ENUM_MIRRORS: readonly EnumMirror[] = [
  { cName: "st_ev", prefix: "ST_EV_", values: EV },
  { cName: "st_hdr_flag", prefix: "ST_HF_", values: HF },
  { cName: "st_exec_trunc", prefix: "ST_EXEC_", values: EXEC_TRUNC },
  { cName: "st_exec_max", prefix: "ST_EXEC_MAX_", values: EXEC_MAX },
  { cName: "st_exe_flag", prefix: "ST_EXE_", values: EXE_FLAG },
  { cName: "st_path_flag", prefix: "ST_PATH_", values: PATH_FLAG },
  { cName: "st_loss", prefix: "ST_LOSS_", values: { ...LOSS, max: LOSS_SLOTS } },
  { cName: "st_priv_op", prefix: "ST_PRIV_OP_", values: PRIV_OP },
  { cName: "st_priv_flag", prefix: "ST_PRIV_", values: PRIV_FLAG },
  { cName: "st_priv_max", prefix: "ST_PRIV_", values: PRIV_MAX },
];

/** Byte offset of a field in a layout. Throws on an unknown name (a bug). */
export function offsetOf(layout: Layout, field: string): number {
  const f = layout.fields.find((x) => x.name === field);
  if (!f) throw new Error(`${layout.cName} has no field ${field}`);
  return f.offset;
}
