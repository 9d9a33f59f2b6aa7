// Child processes for the bench: run a workload to completion, start and stop tracers by pid, clocks.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { libc } from "../../src/libbpf/native.js";

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;

function clockNs(id: number): bigint {
  const ts = { tv_sec: 0n as bigint | number, tv_nsec: 0n as bigint | number };
  libc().clockGettime(id, ts);
  return BigInt(ts.tv_sec) * 1_000_000_000n + BigInt(ts.tv_nsec);
}

/** CLOCK_BOOTTIME (sealtrace's record clock) and CLOCK_MONOTONIC (bpftrace's `nsecs`), in ns. */
export const bootNs = (): bigint => clockNs(CLOCK_BOOTTIME);
export const monoNs = (): bigint => clockNs(CLOCK_MONOTONIC);

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a command to completion; throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      input: opts.input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    if (opts.allowFail) return "";
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(err.stderr ?? "").trim() || err.message}`);
  }
}

export interface WorkloadRun {
  pid: number;
  ops: number;
  /** The workload's own timing of its loop; when stopped, the harness's wall time (a lower bound). */
  elapsedS: number;
  /** Killed at `timeoutMs` before it finished: its ratio is a lower bound and its capture partial. */
  stopped?: boolean;
}

/** Runs a workload binary (optionally prefixed, e.g. `ip netns exec NS`, which execs in place so the pid holds). */
export function runWorkload(argv: string[], timeoutMs = 600_000): Promise<WorkloadRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const t0 = performance.now();
    let stopped = false;
    const timer = setTimeout(() => {
      stopped = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (stopped) return resolve({ pid: child.pid!, ops: NaN, elapsedS: (performance.now() - t0) / 1000, stopped });
      const m = /ops=(\d+) elapsed_s=([\d.]+)/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`${argv.join(" ")} failed (${code ?? signal}): ${err.trim()}`));
      resolve({ pid: child.pid!, ops: Number(m[1]), elapsedS: Number(m[2]) });
    });
  });
}

/** A background process started under the `rusage` wrapper, so its CPU (and its children's) is known at exit. */
export class Background {
  /** Every background process still running: the bench stops these by pid before it exits, whatever happened. */
  static readonly live = new Set<Background>();
  readonly child: ChildProcess;
  readonly launchBootNs: bigint;
  readonly launchMonoNs: bigint;
  readonly launchRealMs: number;
  stdout = "";
  stderr = "";
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly rusageFile: string;
  exitedNow = false;

  constructor(rusageBin: string, rusageFile: string, argv: string[]) {
    this.rusageFile = rusageFile;
    this.launchRealMs = Date.now();
    this.launchMonoNs = monoNs();
    this.launchBootNs = bootNs();
    this.child = spawn(rusageBin, [rusageFile, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    Background.live.add(this);
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        this.exitedNow = true;
        Background.live.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once `test()` holds, polling; throws (after stopping the process) on exit or timeout. */
  async waitFor(test: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!test()) {
      if (this.exitedNow)
        throw new Error(
          `${what}: exited early: ${(this.stderr || this.stdout).trim().split("\n").slice(-3).join(" | ")}`,
        );
      if (Date.now() - t0 > timeoutMs) {
        await this.stop();
        throw new Error(`${what}: not ready after ${timeoutMs} ms`);
      }
      await sleep(5);
    }
  }

  /** SIGINT (forwarded by the wrapper), then SIGKILL after `graceMs`; returns the exit and CPU seconds. */
  async stop(graceMs = 120_000, signal: NodeJS.Signals = "SIGINT"): Promise<{ code: number | null; cpuS: number }> {
    if (!this.exitedNow) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    let cpuS = NaN;
    if (existsSync(this.rusageFile)) {
      const [u, s] = readFileSync(this.rusageFile, "utf8").trim().split(/\s+/).map(Number);
      cpuS = (u ?? NaN) + (s ?? NaN);
    }
    return { code: r.code, cpuS };
  }
}

/** utime+stime of a pid (any thread), in seconds; NaN when gone. */
export function pidCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
