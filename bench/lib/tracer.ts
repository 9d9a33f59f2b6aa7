// What every tracer in the matrix provides: start against a workload, then report what it captured.
import type { Workload, WorkloadName } from "./workloads.js";
import type { WorkloadRun } from "./proc.js";

export interface BenchContext {
  root: string;
  buildDir: string;
  /** Tracer outputs; emptied after each run. */
  outDir: string;
  rusageBin: string;
  markerBin: string;
  markerComm: string;
  identity: string;
  recipient: string;
}

export interface Capture {
  /** Workload events captured, in the unit of Truth.events. */
  captured: number;
  capturedBytes?: number;
  /** Loss the tracer itself reports (null when it has no such counter). */
  lost: number | null;
  /** Records/lines/log records the tracer stored, all hosts' activity included. */
  storedEvents: number;
  diskBytes: number;
  cpuS: number;
  /** sealtrace: loss per bundle (ring full + map full + recursion misses + dropped). */
  lossByBundle?: Record<string, number>;
  /** sealtrace: the session summary's loss counters, as recorded. */
  lossDetail?: Record<string, unknown>;
  note?: string;
}

export interface Running {
  finish(w: Workload, run: WorkloadRun): Promise<Capture>;
}

export interface FirstEvent {
  /** Tracer launch to the kernel timestamp (or arrival) of the first captured marker exec. */
  ms: number;
  attachMs?: number;
  how: string;
}

export interface Tracer {
  readonly name: string;
  readonly family: "sealtrace" | "bpftrace" | "libbpf-tools" | "auditd";
  supports(w: WorkloadName): boolean;
  /** Fewer repetitions than the bench's default, where one run takes minutes. */
  maxReps?(w: WorkloadName): number;
  /** A cap on one traced run: past it the workload is killed and the ratio reported as a lower bound. */
  workloadTimeoutMs?(w: WorkloadName): number | undefined;
  start(w: Workload): Promise<Running>;
  /** Launch-to-first-event of the marker exec loop (already running). */
  firstEvent?(): Promise<FirstEvent>;
}
