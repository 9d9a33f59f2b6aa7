// The privilege bundle's events (st_priv) in replay: names for the syscalls and their arguments, one text line
// each, the JSON shape (docs/REPLAY.md, `privilege`), and what counts as an escalation. Every string here may
// be an attacker's (a memfd name, a mount path, a module parameter): text views escape it (text/visible.ts).
import { constants } from "node:os";
import { PRIV_OP } from "../events/layouts.js";
import type { Creds, PrivilegeEvent, ProcessEntity } from "./model.js";
import { isoFromNs } from "./time.js";

/** Syscall name by st_priv.op. */
const OP_NAME: ReadonlyMap<number, string> = new Map<number, string>([
  [PRIV_OP.setuid, "setuid"],
  [PRIV_OP.setgid, "setgid"],
  [PRIV_OP.setreuid, "setreuid"],
  [PRIV_OP.setregid, "setregid"],
  [PRIV_OP.setresuid, "setresuid"],
  [PRIV_OP.setresgid, "setresgid"],
  [PRIV_OP.setfsuid, "setfsuid"],
  [PRIV_OP.setfsgid, "setfsgid"],
  [PRIV_OP.capset, "capset"],
  [PRIV_OP.ptrace, "ptrace"],
  [PRIV_OP.initModule, "init_module"],
  [PRIV_OP.finitModule, "finit_module"],
  [PRIV_OP.deleteModule, "delete_module"],
  [PRIV_OP.bpf, "bpf"],
  [PRIV_OP.mount, "mount"],
  [PRIV_OP.umount, "umount2"],
  [PRIV_OP.pivotRoot, "pivot_root"],
  [PRIV_OP.unshare, "unshare"],
  [PRIV_OP.setns, "setns"],
  [PRIV_OP.memfdCreate, "memfd_create"],
  [PRIV_OP.prctlSetName, "prctl"],
  [PRIV_OP.kill, "kill"],
  [PRIV_OP.tgkill, "tgkill"],
  [PRIV_OP.pidfdSendSignal, "pidfd_send_signal"],
]);

export function privOpName(op: number): string {
  return OP_NAME.get(op) ?? `op ${op}`;
}

/** The timeline kind of each syscall group (events.ts). */
export type PrivilegeKind =
  | "privilege.credentials"
  | "privilege.ptrace"
  | "privilege.module"
  | "privilege.bpf"
  | "privilege.mount"
  | "privilege.namespace"
  | "privilege.memfd"
  | "privilege.rename"
  | "privilege.signal";

export function privilegeKind(op: number): PrivilegeKind {
  if (op >= PRIV_OP.setuid && op <= PRIV_OP.capset) return "privilege.credentials";
  switch (op) {
    case PRIV_OP.ptrace:
      return "privilege.ptrace";
    case PRIV_OP.initModule:
    case PRIV_OP.finitModule:
    case PRIV_OP.deleteModule:
      return "privilege.module";
    case PRIV_OP.bpf:
      return "privilege.bpf";
    case PRIV_OP.mount:
    case PRIV_OP.umount:
    case PRIV_OP.pivotRoot:
      return "privilege.mount";
    case PRIV_OP.unshare:
    case PRIV_OP.setns:
      return "privilege.namespace";
    case PRIV_OP.memfdCreate:
      return "privilege.memfd";
    case PRIV_OP.prctlSetName:
      return "privilege.rename";
    default:
      return "privilege.signal";
  }
}

const ERRNO_NAME = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** "0", "3", or "-1 EPERM". */
export function retText(ret: number): string {
  return ret < 0 ? `${ret} ${ERRNO_NAME.get(-ret) ?? "?"}` : String(ret);
}

const SIGNALS: Readonly<Record<number, string>> = { 9: "SIGKILL", 19: "SIGSTOP" };
const PTRACE: Readonly<Record<number, string>> = {
  4: "PTRACE_POKETEXT",
  5: "PTRACE_POKEDATA",
  6: "PTRACE_POKEUSER",
  16: "PTRACE_ATTACH",
  0x4206: "PTRACE_SEIZE",
};
const BPF_CMD: Readonly<Record<number, string>> = { 0: "BPF_MAP_CREATE", 5: "BPF_PROG_LOAD" };
/** unshare(2)/setns(2) flags (include/uapi/linux/sched.h). */
const CLONE_FLAGS: ReadonlyArray<[number, string]> = [
  [0x80, "CLONE_NEWTIME"],
  [0x200, "CLONE_FS"],
  [0x400, "CLONE_FILES"],
  [0x20000, "CLONE_NEWNS"],
  [0x40000, "CLONE_SYSVSEM"],
  [0x2000000, "CLONE_NEWCGROUP"],
  [0x4000000, "CLONE_NEWUTS"],
  [0x8000000, "CLONE_NEWIPC"],
  [0x10000000, "CLONE_NEWUSER"],
  [0x20000000, "CLONE_NEWPID"],
  [0x40000000, "CLONE_NEWNET"],
];

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** "CLONE_NEWNS|CLONE_NEWUTS", with any bit it does not name in hex; "0" for none. */
export function cloneFlagsText(v: bigint): string {
  const n = Number(v & 0xffffffffn);
  let rest = n;
  const names: string[] = [];
  for (const [bit, name] of CLONE_FLAGS)
    if ((n & bit) !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  if (rest !== 0) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names.length ? names.join("|") : "0";
}

/** A uid_t/gid_t argument: its low 32 bits, -1 ("unchanged") as -1. */
function idArg(v: bigint): number {
  const n = Number(v & 0xffffffffn);
  return n === 0xffffffff ? -1 : n;
}

/** A signed int argument (pid, fd): the low 32 bits as the kernel reads it. */
function intArg(v: bigint): number {
  return Number(BigInt.asIntN(32, v & 0xffffffffn));
}

export type ArgValue = string | number | null;

/** The call's arguments by name (docs/REPLAY.md): what the JSON gives and the text line shows. */
export function privilegeArgs(e: PrivilegeEvent): Record<string, ArgValue> {
  const [a0, a1, a2, a3] = e.args;
  const s = (i: number): string | null => e.strings[i] ?? null;
  switch (e.op) {
    case PRIV_OP.setuid:
      return { uid: idArg(a0) };
    case PRIV_OP.setgid:
      return { gid: idArg(a0) };
    case PRIV_OP.setreuid:
      return { ruid: idArg(a0), euid: idArg(a1) };
    case PRIV_OP.setregid:
      return { rgid: idArg(a0), egid: idArg(a1) };
    case PRIV_OP.setresuid:
      return { ruid: idArg(a0), euid: idArg(a1), suid: idArg(a2) };
    case PRIV_OP.setresgid:
      return { rgid: idArg(a0), egid: idArg(a1), sgid: idArg(a2) };
    case PRIV_OP.setfsuid:
      return { fsuid: idArg(a0) };
    case PRIV_OP.setfsgid:
      return { fsgid: idArg(a0) };
    case PRIV_OP.capset:
      return {};
    case PRIV_OP.ptrace:
      return { request: PTRACE[Number(a0)] ?? hex(a0), pid: intArg(a1), addr: hex(a2) };
    case PRIV_OP.initModule:
      return { length: Number(a1 & 0xffffffffffffn), params: s(0) };
    case PRIV_OP.finitModule:
      return { fd: intArg(a0), path: s(0), params: s(1), flags: hex(a2) };
    case PRIV_OP.deleteModule:
      return { name: s(0), flags: hex(a1) };
    case PRIV_OP.bpf:
      return { cmd: BPF_CMD[Number(a0)] ?? hex(a0), type: e.aux, name: s(0) };
    case PRIV_OP.mount:
      return { source: s(0), target: s(1), fstype: s(2), flags: hex(a3) };
    case PRIV_OP.umount:
      return { target: s(0), flags: hex(a1) };
    case PRIV_OP.pivotRoot:
      return { newRoot: s(0), putOld: s(1) };
    case PRIV_OP.unshare:
      return { flags: cloneFlagsText(a0) };
    case PRIV_OP.setns:
      return { fd: intArg(a0), nstype: cloneFlagsText(a1), nsInode: e.aux };
    case PRIV_OP.memfdCreate:
      return { name: s(0), flags: hex(a1) };
    case PRIV_OP.prctlSetName:
      return { option: "PR_SET_NAME", name: s(0), oldName: e.oldComm ?? null };
    case PRIV_OP.kill:
      return { pid: intArg(a0), signal: SIGNALS[Number(a1)] ?? Number(a1 & 0xffn) };
    case PRIV_OP.tgkill:
      return { tgid: intArg(a0), tid: intArg(a1), signal: SIGNALS[Number(a2)] ?? Number(a2 & 0xffn) };
    case PRIV_OP.pidfdSendSignal:
      return { pidfd: intArg(a0), signal: SIGNALS[Number(a1)] ?? Number(a1 & 0xffn), pid: e.target };
    default:
      return { arg0: hex(a0), arg1: hex(a1), arg2: hex(a2), arg3: hex(a3) };
  }
}

function credsJson(c: Creds) {
  return {
    uid: c.uid,
    euid: c.euid,
    suid: c.suid,
    fsuid: c.fsuid,
    gid: c.gid,
    egid: c.egid,
    sgid: c.sgid,
    fsgid: c.fsgid,
    capEffective: hex(c.capEffective),
    capPermitted: hex(c.capPermitted),
  };
}

/**
 * What the call gained, if it succeeded: a uid (real, effective, saved or fs) that became 0 from non-zero,
 * or capabilities (effective or permitted) it did not have. Empty: not an escalation.
 */
export function gained(e: PrivilegeEvent): string[] {
  const b = e.before;
  if (!b || e.ret < 0) return [];
  const a = e.after;
  const out: string[] = [];
  for (const k of ["uid", "euid", "suid", "fsuid", "gid", "egid"] as const)
    if (a[k] === 0 && b[k] !== 0) out.push(`${k} 0`);
  const eff = a.capEffective & ~b.capEffective;
  const perm = a.capPermitted & ~b.capPermitted;
  if (eff !== 0n) out.push(`effective capabilities ${hex(eff)}`);
  if (perm !== 0n) out.push(`permitted capabilities ${hex(perm)}`);
  return out;
}

function idsText(c: Creds, k: "u" | "g"): string {
  return k === "u" ? `${c.uid}/${c.euid}/${c.suid}/${c.fsuid}` : `${c.gid}/${c.egid}/${c.sgid}/${c.fsgid}`;
}

function argText(v: ArgValue): string {
  return v === null ? "NULL" : typeof v === "number" ? String(v) : JSON.stringify(v);
}

/** The call itself: `setresuid(ruid=65534, euid=65534, suid=0) = 0`. */
export function privilegeCall(e: PrivilegeEvent): string {
  const args = Object.entries(privilegeArgs(e))
    .filter(([k]) => k !== "oldName")
    .map(([k, v]) => `${k}=${typeof v === "string" && /^(0x|CLONE|PTRACE|BPF|SIG|PR_)/.test(v) ? v : argText(v)}`)
    .join(", ");
  return `${e.syscall}(${args}) = ${retText(e.ret)}${e.stringsTruncated ? " (string cut)" : ""}`;
}

/** What the call did or aimed at, one part each: the target, the old name, credential changes, ESCALATION. */
export function privilegeEffects(e: PrivilegeEvent): string[] {
  const out: string[] = [];
  if (e.targetComm !== undefined && e.target !== 0) out.push(`target ${e.targetComm} [${e.target}]`);
  if (e.oldComm !== undefined) out.push(`was ${JSON.stringify(e.oldComm)}`);
  const b = e.before;
  if (b) {
    const a = e.after;
    if (idsText(a, "u") !== idsText(b, "u")) out.push(`uid r/e/s/fs ${idsText(b, "u")} → ${idsText(a, "u")}`);
    if (idsText(a, "g") !== idsText(b, "g")) out.push(`gid r/e/s/fs ${idsText(b, "g")} → ${idsText(a, "g")}`);
    if (a.capEffective !== b.capEffective) out.push(`cap_eff ${hex(b.capEffective)} → ${hex(a.capEffective)}`);
    if (a.capPermitted !== b.capPermitted) out.push(`cap_prm ${hex(b.capPermitted)} → ${hex(a.capPermitted)}`);
    if (out.length === 0) out.push("credentials unchanged");
    if (gained(e).length) out.push("ESCALATION");
  }
  return out;
}

/** One line: the call, then its effects (`…) = 0; uid r/e/s/fs 0/0/0/0 → 65534/65534/0/65534, …`). */
export function privilegeText(e: PrivilegeEvent): string {
  return [privilegeCall(e), ...privilegeEffects(e)].join("; ");
}

/** The JSON form (docs/REPLAY.md, `privilege`). */
export function privilegeJson(e: PrivilegeEvent) {
  return {
    id: e.id,
    host: e.host,
    processId: e.processId,
    pid: e.pid,
    tid: e.tid,
    comm: e.comm,
    time: isoFromNs(e.timeNs),
    kind: privilegeKind(e.op).slice("privilege.".length),
    syscall: e.syscall,
    args: privilegeArgs(e),
    ret: e.ret,
    errno: e.ret < 0 ? (ERRNO_NAME.get(-e.ret) ?? null) : null,
    target: e.target === 0 ? null : { pid: e.target, processId: e.targetId ?? null, comm: e.targetComm ?? null },
    before: e.before ? credsJson(e.before) : null,
    after: credsJson(e.after),
    gained: gained(e),
    stringsTruncated: e.stringsTruncated,
    readFailed: e.readFailed,
  };
}

/**
 * Names each event's target (kill, tgkill, pidfd_send_signal, ptrace) with the process that had that pid on
 * its host at the time, when the recording knows one. One index per host: pid → processes.
 */
export function resolveTargets(events: readonly PrivilegeEvent[], processes: readonly ProcessEntity[]): void {
  if (!events.some((e) => e.target > 0)) return;
  const byPid = new Map<string, ProcessEntity[]>();
  for (const p of processes) {
    const k = `${p.host}\0${p.pid}`;
    const list = byPid.get(k);
    if (list) list.push(p);
    else byPid.set(k, [p]);
  }
  for (const e of events) {
    if (e.target <= 0) continue;
    const list = byPid.get(`${e.host}\0${e.target}`);
    if (!list) continue;
    // The latest process started by then that had not exited before it (a kill lands before the exit).
    let best: ProcessEntity | undefined;
    for (const p of list)
      if (p.startNs <= e.timeNs && (p.exitNs === undefined || p.exitNs >= e.timeNs))
        if (!best || p.startNs > best.startNs) best = p;
    if (best) {
      e.targetId = best.id;
      e.targetComm = best.comm;
    }
  }
}
