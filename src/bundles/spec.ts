// What the recorder needs to know about a probe bundle: its object, ring, iterators and maps.
import type { RodataValue } from "../libbpf/object.js";
import type { KernelFeature } from "../libbpf/features.js";

export type BundleName = "exec" | "connect" | "retransmit" | "filewrite" | "privilege";

/** Runbook filters, as the recorder resolved them (pid → followed set, comm, cgroup, uid, ports). */
export interface Filters {
  pid?: number;
  comm?: string;
  cgroupId?: bigint;
  uid?: number;
  /** Remote ports of interest (connect/retransmit); empty: any. */
  ports?: number[];
  /** Remote addresses of interest, as text (IPv4 or IPv6); empty: any. */
  addresses?: string[];
  /** filewrite: also record pipes, sockets and ttys, not only regular files. */
  allFileTypes?: boolean;
}

export interface BundleSpec {
  name: BundleName;
  /** One line for menus and `runbooks show`. */
  description: string;
  /** Object file name in bpf/. */
  object: string;
  /** Name of the ring buffer map, and its default size in bytes (a power of two, page multiple). */
  ring: string;
  ringBytes: number;
  /** `iter/` programs run once at the start; their output is records in ring format (8-byte header each). */
  startIterators: string[];
  /** Maps dumped whole with every periodic snapshot (aggregates: write totals, flow counters). */
  snapshotMaps: string[];
  /** Tracepoints the bundle attaches to, for `doctor` ([category, name]). */
  tracepoints: Array<[string, string]>;
  /**
   * More tracepoints ([category, name]) for a loaded classic-tracepoint program, beyond the one its section
   * names: one syscall program on each of its syscalls' exit tracepoints, verified once (bpf/syscall.bpf.h).
   * A tracepoint this kernel lacks (a syscall newer than it, e.g. fchmodat2 before 6.6) is skipped: that
   * syscall cannot run there.
   */
  alsoAttach?: Record<string, Array<[string, string]>>;
  /**
   * Programs (and start iterators) that duplicate another bundle's work when both are loaded with
   * their shared maps: they are not loaded then (e.g. retransmit's socket-owner bookkeeping, which
   * the connect bundle already does into the same `sock_owners`).
   */
  redundantWith?: { bundle: BundleName; programs: string[] };
  /**
   * When `bundle` is loaded too, this bundle's syscalls reach it by tail call from that bundle's program
   * (one program per syscall hook instead of two): `program` is loaded but not attached, and goes into
   * slot `slot` of the prog array `map` (shared between the objects), and `instead`, the program
   * attached on its own otherwise, is left out.
   */
  tailCallFrom?: { bundle: BundleName; map: string; slot: number; program: string; instead: string };
  /**
   * Load-time choices by kernel feature (bpf/common.bpf.h, program variants). When the running kernel
   * lacks one of `needs`, `program` is not loaded and `fallback` (a "?" program, off by default) is
   * loaded in its place wherever `program` is named (tail calls, redundantWith, startIterators); with
   * no fallback it is simply left out. `unavailable` then names what the session lacks or gets
   * another way, recorded in the session's metadata and shown by replay. An entry without `program`
   * only records `unavailable` (a field the kernel does not have), or turns its `fallback` on where a
   * feature is missing (the compat raw sys_exit program that stands in for a set of per-syscall programs,
   * each of which has its own entry without fallback). A fallback that is not loaded resolves to nothing.
   */
  variants?: Array<{ program?: string; needs: KernelFeature[]; fallback?: string; unavailable?: string }>;
  /** Its records carry argv (exec and task records): the runbook's `redact.argv` patterns mask them before sealing. */
  redactArgv?: boolean;
  /**
   * Its start snapshot may leave argv to the recorder (EXEC_ARGV_PROC, kernels without
   * bpf_copy_from_user_task): the recorder fills it in from /proc/<pid>/cmdline.
   */
  argvFromProc?: boolean;
  /** Its fork probe extends the followed set: a pid filter (`Filters.pid`) loads this bundle too. */
  followsForks?: boolean;
  /**
   * Its ring carries exec events with the executable's identity: the recorder hashes each new identity
   * once, off the event path (src/recorder/hasher.ts), into `exe-hash` records.
   */
  hashesExecutables?: boolean;
  /** Bundle-specific .rodata values for the filters (the common ones are set by the recorder). */
  rodata?: (filters: Filters) => Record<string, RodataValue>;
}
