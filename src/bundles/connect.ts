// The connect bundle: connect(2) and accept(2) with results, TCP state changes attributed to the
// socket's owner, and the start-of-recording TCP socket snapshot (docs/EVENTS.md, connect bundle).
import type { BundleSpec } from "./spec.js";
import { netRodata } from "./netfilters.js";

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
  // connect, accept and accept4 in one tp_btf program on raw sys_exit, told apart by syscall number.
  tracepoints: [
    ["raw_syscalls", "sys_exit"],
    ["sock", "inet_sock_set_state"],
    ["tcp", "tcp_destroy_sock"],
  ],
  // With filewrite loaded, its sys_exit program hands connect/accept/accept4 over (bpf/syscall.bpf.h).
  tailCallFrom: {
    bundle: "filewrite",
    map: "sys_exit_tails",
    slot: 0,
    program: "connect_sys_exit_tail",
    instead: "connect_sys_exit",
  },
  // Without bpf_get_current_task_btf (5.10): the same facts, read with probe reads.
  variants: [
    { program: "connect_sys_exit", needs: ["taskBtf"], fallback: "connect_sys_exit_compat" },
    { program: "connect_sys_exit_tail", needs: ["taskBtf"], fallback: "connect_sys_exit_tail_compat" },
    { program: "connect_state", needs: ["taskBtf"], fallback: "connect_state_compat" },
  ],
  rodata: netRodata,
};
