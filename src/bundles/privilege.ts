// The privilege bundle: escalation and tampering moves (docs/EVENTS.md, privilege bundle): the setuid family
// and capset with the credentials before and after, ptrace attach/seize/poke, module loads, bpf program and
// map creation, mounts, namespaces, memfd_create, process renames, and SIGKILL/SIGSTOP sent to others.
import type { BundleSpec } from "./spec.js";
import { SYSCALL_NEEDS } from "./connect.js";

/** The syscalls privilege_exit is attached to, on syscalls:sys_exit_NAME (bpf/privilege.bpf.c); setuid first (its section). */
export const PRIVILEGE_SYSCALLS = [
  "setuid",
  "setgid",
  "setreuid",
  "setregid",
  "setresuid",
  "setresgid",
  "setfsuid",
  "setfsgid",
  "capset",
  "ptrace",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "mount",
  "umount",
  "pivot_root",
  "unshare",
  "setns",
  "memfd_create",
  "prctl",
  "kill",
  "tgkill",
  "pidfd_send_signal",
];

/**
 * The syscalls whose state before the call privilege_enter stashes (on their sys_enter_NAME tracepoints
 * only): the credentials for the setuid family and capset, the old name for prctl(PR_SET_NAME).
 */
export const PRIVILEGE_ENTER_SYSCALLS = [
  ...PRIVILEGE_SYSCALLS.slice(0, PRIVILEGE_SYSCALLS.indexOf("capset") + 1),
  "prctl",
];

export const PRIVILEGE_BUNDLE: BundleSpec = {
  name: "privilege",
  description:
    "setuid-family and capset calls with credentials before and after, ptrace attaches, module and BPF loads, mounts, namespace changes, memfd_create, process renames, SIGKILL/SIGSTOP sent to others",
  object: "privilege.bpf.o",
  ring: "events",
  ringBytes: 1 << 20,
  startIterators: [],
  snapshotMaps: [],
  tracepoints: [
    ...PRIVILEGE_SYSCALLS.map((s): [string, string] => ["syscalls", `sys_exit_${s}`]),
    ...PRIVILEGE_ENTER_SYSCALLS.map((s): [string, string] => ["syscalls", `sys_enter_${s}`]),
  ],
  alsoAttach: {
    privilege_exit: PRIVILEGE_SYSCALLS.slice(1).map((s) => ["syscalls", `sys_exit_${s}`]),
    privilege_enter: PRIVILEGE_ENTER_SYSCALLS.slice(1).map((s) => ["syscalls", `sys_enter_${s}`]),
  },
  // Compat kernels only: with filewrite loaded, its raw sys_exit program hands these syscalls over.
  tailCallFrom: {
    bundle: "filewrite",
    map: "sys_exit_tails",
    slot: 1,
    program: "privilege_sys_exit_tail_compat",
    instead: "privilege_sys_exit_compat",
  },
  // Without bpf_get_current_task_btf (5.10) or bpf_task_pt_regs (5.15): on the raw sys_exit tracepoint.
  variants: [
    { program: "privilege_exit", needs: SYSCALL_NEEDS },
    { needs: SYSCALL_NEEDS, fallback: "privilege_sys_exit_compat" },
    { needs: SYSCALL_NEEDS, fallback: "privilege_sys_exit_tail_compat" },
  ],
};
