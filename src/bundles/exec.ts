// The exec bundle: fork, exec, exit, and the start-of-recording process snapshot.
import type { BundleSpec } from "./spec.js";

export const EXEC_BUNDLE: BundleSpec = {
  name: "exec",
  description: "every fork, exec (argv, cwd, credentials) and exit, with a snapshot of running processes",
  object: "exec.bpf.o",
  ring: "events",
  ringBytes: 1 << 23,
  startIterators: ["exec_snapshot"],
  snapshotMaps: [],
  redactArgv: true,
  argvFromProc: true,
  followsForks: true,
  hashesExecutables: true,
  tracepoints: [
    ["sched", "sched_process_fork"],
    ["sched", "sched_process_exec"],
    ["sched", "sched_process_exit"],
  ],
  variants: [
    {
      program: "exec_snapshot",
      needs: ["copyFromUserTask"],
      fallback: "exec_snapshot_compat",
      unavailable:
        "snapshot.argv: read from /proc/<pid>/cmdline by the recorder, not by the kernel (no bpf_copy_from_user_task before 5.18)",
    },
  ],
};
