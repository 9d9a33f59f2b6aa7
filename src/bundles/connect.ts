// The connect bundle: connect(2) and accept(2) with results, TCP state changes attributed to the
// socket's owner, and the start-of-recording TCP socket snapshot (docs/EVENTS.md, connect bundle).
import type { BundleSpec } from "./spec.js";
import { netRodata } from "./netfilters.js";
import type { KernelFeature } from "../libbpf/features.js";

/** What a program on syscalls:sys_exit_* tracepoints needs (bpf/syscall.bpf.h): the task's saved registers. */
export const SYSCALL_NEEDS: KernelFeature[] = ["taskBtf", "taskPtRegs"];

export const CONNECT_BUNDLE: BundleSpec = {
  name: "connect",
  description:
    "every connect and accept (IPv4/IPv6, TCP/UDP) with its result, TCP state changes per process, and a snapshot of open TCP sockets",
  object: "connect.bpf.o",
  ring: "events",
  ringBytes: 1 << 24,
  // Order matters: connect_owners fills sock_owners (writing nothing), then connect_snapshot reads it.
  startIterators: ["connect_owners", "connect_snapshot"],
  snapshotMaps: [],
  // connect, accept and accept4: connect_exit on each one's exit tracepoint (bpf/syscall.bpf.h), so no other
  // syscall runs a program of this bundle.
  tracepoints: [
    ["syscalls", "sys_exit_connect"],
    ["syscalls", "sys_exit_accept"],
    ["syscalls", "sys_exit_accept4"],
    ["sock", "inet_sock_set_state"],
    ["tcp", "tcp_destroy_sock"],
  ],
  alsoAttach: {
    connect_exit: [
      ["syscalls", "sys_exit_accept"],
      ["syscalls", "sys_exit_accept4"],
    ],
  },
  // Compat kernels only: with filewrite loaded, its raw sys_exit program hands connect/accept/accept4 over.
  tailCallFrom: {
    bundle: "filewrite",
    map: "sys_exit_tails",
    slot: 0,
    program: "connect_sys_exit_tail_compat",
    instead: "connect_sys_exit_compat",
  },
  // Without bpf_get_current_task_btf (5.10) or bpf_task_pt_regs (5.15): the three syscalls on the raw
  // sys_exit tracepoint, read with probe reads (the programs before issue 20).
  variants: [
    { program: "connect_exit", needs: SYSCALL_NEEDS },
    { needs: SYSCALL_NEEDS, fallback: "connect_sys_exit_compat" },
    { needs: SYSCALL_NEEDS, fallback: "connect_sys_exit_tail_compat" },
    { program: "connect_state", needs: ["taskBtf"], fallback: "connect_state_compat" },
  ],
  rodata: netRodata,
};
