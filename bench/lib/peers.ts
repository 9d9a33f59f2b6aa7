// The peers: bpftrace with an equivalent script, libbpf-tools that run on this kernel, and auditd.
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Background, sh, sleep } from "./proc.js";
import type { BenchContext, Capture, FirstEvent, Running, Tracer } from "./tracer.js";
import type { Workload, WorkloadName } from "./workloads.js";

const SCRIPT: Record<WorkloadName, string> = {
  exec: "exec",
  connect: "connect",
  write: "write",
  "write-200": "write",
  retransmit: "retransmit",
};

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, "utf8").split("\n") : [];
}

/** bpftrace -o FILE SCRIPT (default buffering). A BEGIN hook touches a file: BEGIN fires once every probe is attached. */
export class Bpftrace implements Tracer {
  readonly name = "bpftrace";
  readonly family = "bpftrace" as const;
  private runs = 0;
  constructor(private readonly ctx: BenchContext) {}
  supports(): boolean {
    return true;
  }

  private launch(script: string) {
    const out = join(this.ctx.outDir, `bpftrace-${++this.runs}.out`);
    const ready = `${out}.ready`;
    const text =
      `BEGIN { system("touch ${ready}"); }\n` +
      readFileSync(join(this.ctx.root, "bench", "bpftrace", `${script}.bt`), "utf8");
    const bg = new Background(this.ctx.rusageBin, `${out}.rusage`, ["bpftrace", "--unsafe", "-o", out, "-e", text]);
    return { bg, out, ready };
  }

  async start(w: Workload): Promise<Running> {
    const { bg, out, ready } = this.launch(SCRIPT[w.name]);
    await bg.waitFor(() => existsSync(ready), "bpftrace");
    return {
      finish: async (w, run): Promise<Capture> => {
        const { cpuS } = await bg.stop();
        const diskBytes = statSync(out).size;
        const ls = lines(out);
        let captured = 0;
        let bytes = 0;
        let lost = 0;
        let stored = 0;
        for (const l of ls) {
          const f = l.split(" ");
          const m = /Lost (\d+) events/.exec(l);
          if (m) lost += Number(m[1]);
          if (/^[A-Z] \d/.test(l)) stored++;
          if (w.name === "exec" && f[0] === "E" && Number(f[3]) === run.pid) captured++;
          else if (w.name === "connect" && (f[0] === "C" || f[0] === "A") && Number(f[2]) === run.pid) captured++;
          else if (w.name === "retransmit" && f[0] === "R" && (Number(f[3]) === w.port || Number(f[4]) === w.port))
            captured++;
          else if (w.name === "write" || w.name === "write-200") {
            // Files only, as the filewrite bundle: the workload's own report on stdout/stderr is left out.
            const b = /^@bytes\[(\d+), (\d+)\]: (\d+)/.exec(l);
            if (b && Number(b[1]) === run.pid && Number(b[2]) > 2) bytes += Number(b[3]);
            const c = /^@calls\[(\d+), (\d+)\]: (\d+)/.exec(l);
            if (c && Number(c[1]) === run.pid && Number(c[2]) > 2) captured += Number(c[3]);
          }
        }
        rmSync(out, { force: true });
        rmSync(`${out}.ready`, { force: true });
        rmSync(`${out}.rusage`, { force: true });
        const isWrite = w.name === "write" || w.name === "write-200";
        const c: Capture = {
          captured,
          lost,
          storedEvents: isWrite ? captured : stored,
          diskBytes,
          cpuS,
          note: "Lost N events lines summed",
        };
        if (isWrite) c.capturedBytes = bytes;
        return c;
      },
    };
  }

  async firstEvent(): Promise<FirstEvent> {
    const { bg, out, ready } = this.launch("exec");
    await bg.waitFor(() => existsSync(ready), "bpftrace");
    await sleep(300);
    await bg.stop();
    let first: bigint | undefined;
    for (const l of lines(out)) {
      const f = l.split(" ");
      if (f[0] === "E" && f[5] === this.ctx.markerComm) {
        const t = BigInt(f[1]!);
        if (first === undefined || t < first) first = t;
      }
    }
    for (const p of [out, ready, `${out}.rusage`]) rmSync(p, { force: true });
    if (first === undefined) throw new Error("bpftrace: no marker exec captured");
    return { ms: Number(first - bg.launchMonoNs) / 1e6, how: "launch → nsecs of the first marker exec line" };
  }
}

/**
 * A libbpf-tools program, stdout to a file through `stdbuf -oL` so its header (printed once attached)
 * marks readiness. `count` picks the workload's events out of its lines.
 */
export class LibbpfTool implements Tracer {
  readonly family = "libbpf-tools" as const;
  private runs = 0;
  constructor(
    private readonly ctx: BenchContext,
    readonly name: string,
    private readonly workloadNames: WorkloadName[],
    private readonly count: (line: string[], w: Workload, pid: number) => number,
    private readonly marker?: (line: string[]) => boolean,
  ) {}
  supports(w: WorkloadName): boolean {
    return this.workloadNames.includes(w);
  }

  private launch() {
    const out = join(this.ctx.outDir, `${this.name}-${++this.runs}.out`);
    const bg = new Background(this.ctx.rusageBin, `${out}.rusage`, ["stdbuf", "-oL", `/usr/sbin/${this.name}`]);
    return { bg, out };
  }

  async start(): Promise<Running> {
    const { bg, out } = this.launch();
    await bg.waitFor(() => bg.stdout.includes("\n"), this.name);
    return {
      finish: async (w, run): Promise<Capture> => {
        const { cpuS } = await bg.stop();
        writeFileSync(out, bg.stdout);
        const ls = bg.stdout
          .split("\n")
          .slice(1)
          .filter((l) => l.trim());
        let captured = 0;
        for (const l of ls) captured += this.count(l.trim().split(/\s+/), w, run.pid);
        const diskBytes = statSync(out).size;
        rmSync(out, { force: true });
        rmSync(`${out}.rusage`, { force: true });
        return {
          captured,
          lost: null,
          storedEvents: ls.length,
          diskBytes,
          cpuS,
          note: "lost-event warnings on stderr: " + (bg.stderr.match(/lost/gi) ?? []).length,
        };
      },
    };
  }

  async firstEvent(): Promise<FirstEvent> {
    const marker = this.marker;
    if (!marker) throw new Error(`${this.name} has no marker`);
    const { bg } = this.launch();
    const t0 = Date.now();
    let arrivedMs = NaN;
    await bg.waitFor(() => {
      const hit = bg.stdout.split("\n").some((l) => marker(l.trim().split(/\s+/)));
      if (hit) arrivedMs = Date.now() - t0;
      return hit;
    }, this.name);
    await bg.stop();
    rmSync(join(this.ctx.outDir, `${this.name}-${this.runs}.out.rusage`), { force: true });
    return { ms: arrivedMs, how: "launch → first marker line read from its stdout (line-buffered)" };
  }
}

export const EXECSNOOP_COUNT = (f: string[], _w: Workload, pid: number): number =>
  f[0] === "true" && Number(f[2]) === pid ? 1 : 0;
/** tcplife: one line per closed socket: PID COMM LADDR LPORT RADDR RPORT ...; both ends of each connection are the workload's. */
export const TCPLIFE_COUNT = (f: string[], w: Workload, pid: number): number =>
  Number(f[0]) === pid && (Number(f[3]) === w.port || Number(f[5]) === w.port) ? 1 : 0;

/** libbpf-tools tried on this kernel for 2 s each: "works", or the line saying why attaching failed. */
export function probeLibbpfTools(names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const path = `/usr/sbin/${n}`;
    if (!existsSync(path)) {
      out[n] = "not installed";
      continue;
    }
    const r = spawnSync("timeout", ["-s", "INT", "2", path], { encoding: "utf8" });
    const err = (r.stderr ?? "").split("\n");
    const why = err.find((l) =>
      /failed to (create|attach|load|auto-attach)|Operation not permitted|Permission denied/i.test(l),
    );
    out[n] = why
      ? why.replace(/^libbpf: /, "").slice(0, 200)
      : r.status === 124 || r.status === 0 || r.signal
        ? "works"
        : `exit ${r.status}: ${err.filter(Boolean).slice(-1)[0] ?? ""}`;
  }
  return out;
}

const AUDIT_KEY = "stbench";
const AUDIT_RULES: Partial<Record<WorkloadName, string[]>> = {
  exec: ["-S", "execve", "-S", "execveat"],
  connect: ["-S", "connect", "-S", "accept", "-S", "accept4"],
  // auditctl's x86_64 table names pwrite64 "pwrite" (ausyscall x86_64 18).
  write: ["-S", "write", "-S", "pwrite", "-S", "writev"],
  "write-200": ["-S", "write", "-S", "pwrite", "-S", "writev"],
};
const SYSCALLS: Record<string, string> = {
  "59": "execve",
  "322": "execveat",
  "42": "connect",
  "43": "accept",
  "288": "accept4",
  "1": "write",
  "18": "pwrite64",
  "20": "writev",
};

/** auditd -n with its own config and log in the bench's output dir, and syscall rules equivalent to the bundle. */
export class Auditd implements Tracer {
  readonly name = "auditd";
  readonly family = "auditd" as const;
  private runs = 0;
  constructor(private readonly ctx: BenchContext) {}
  supports(w: WorkloadName): boolean {
    return w in AUDIT_RULES;
  }
  /** A write storm under auditd takes minutes per run (a log record per write): once, to stay in the time budget. */
  maxReps(w: WorkloadName): number {
    return w === "write" || w === "write-200" ? 1 : Infinity;
  }
  /** 2 M audited writes take 2–4 minutes here (a 3.6 GB log); stopped at 90 s to keep the bench under 20 minutes. */
  workloadTimeoutMs(w: WorkloadName): number | undefined {
    return w === "write" || w === "write-200" ? 90_000 : undefined;
  }

  private async launch(rules: string[]) {
    const dir = join(this.ctx.outDir, `auditd-${++this.runs}`);
    mkdirSync(dir, { recursive: true });
    const log = join(dir, "audit.log");
    writeFileSync(
      join(dir, "auditd.conf"),
      [
        `log_file = ${log}`,
        "log_format = ENRICHED",
        "flush = INCREMENTAL_ASYNC",
        "freq = 50",
        "max_log_file = 0",
        "max_log_file_action = IGNORE",
        "space_left = 2",
        "space_left_action = IGNORE",
        "admin_space_left = 1",
        "admin_space_left_action = IGNORE",
        "disk_full_action = IGNORE",
        "disk_error_action = IGNORE",
        "num_logs = 1",
        "write_logs = yes",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    sh("auditctl", ["-D"], { allowFail: true });
    const lostBefore = auditLost();
    // A registered daemon that is gone is stale (the kernel forgets it lazily); a live one is someone else's.
    const other = auditPid();
    if (other !== 0 && existsSync(`/proc/${other}`))
      throw new Error(`another audit daemon (pid ${other}) is running: stop it first`);
    const bg = new Background(this.ctx.rusageBin, join(dir, "rusage"), ["auditd", "-n", "-c", dir]);
    await bg.waitFor(() => auditPid() === bg.child.pid || auditPidIsChildOf(bg.child.pid!), "auditd", 15_000);
    try {
      // Debian's shipped audit.rules raises the backlog to 8192; the kernel default (64) would throttle sooner.
      sh("auditctl", ["-b", "8192"]);
      sh("auditctl", ["-a", "always,exit", "-F", "arch=b64", ...rules, "-k", AUDIT_KEY]);
    } catch (e) {
      await this.halt(bg);
      throw e;
    }
    return { bg, dir, log, lostBefore };
  }

  private async halt(bg: Background): Promise<number> {
    sh("auditctl", ["-D"], { allowFail: true });
    const { cpuS } = await bg.stop(30_000, "SIGTERM");
    restoreAudit();
    return cpuS;
  }

  async start(w: Workload): Promise<Running> {
    const { bg, dir, log, lostBefore } = await this.launch(AUDIT_RULES[w.name]!);
    return {
      finish: async (w, run): Promise<Capture> => {
        const lost = auditLost() - lostBefore;
        const cpuS = await this.halt(bg);
        const diskBytes = existsSync(log) ? statSync(log).size : 0;
        let captured = 0;
        let bytes = 0;
        let stored = 0;
        // The log of a write storm is over 1 GB: read it line by line.
        if (existsSync(log)) {
          for await (const l of createInterface({ input: createReadStream(log), crlfDelay: Infinity })) {
            if (!l.startsWith("type=SYSCALL")) continue;
            stored++;
            const sc = SYSCALLS[/ syscall=(\d+)/.exec(l)?.[1] ?? ""];
            const pid = Number(/ pid=(\d+)/.exec(l)?.[1]);
            const ppid = Number(/ ppid=(\d+)/.exec(l)?.[1]);
            const exit = Number(/ exit=(-?\d+)/.exec(l)?.[1]);
            if (w.name === "exec" && (sc === "execve" || sc === "execveat") && ppid === run.pid) captured++;
            else if (w.name === "connect" && pid === run.pid && (sc === "connect" || sc?.startsWith("accept")))
              captured++;
            else if (
              (w.name === "write" || w.name === "write-200") &&
              pid === run.pid &&
              sc?.includes("write") &&
              parseInt(/ a0=([0-9a-f]+)/.exec(l)?.[1] ?? "0", 16) > 2
            ) {
              captured++;
              if (exit > 0) bytes += exit;
            }
          }
        }
        rmSync(dir, { recursive: true, force: true });
        const isWrite = w.name === "write" || w.name === "write-200";
        const c: Capture = {
          captured,
          lost,
          storedEvents: stored,
          diskBytes,
          cpuS,
          note: "lost = kernel audit lost counter delta",
        };
        if (isWrite) c.capturedBytes = bytes;
        return c;
      },
    };
  }

  async firstEvent(): Promise<FirstEvent> {
    const { bg, dir, log } = await this.launch(AUDIT_RULES.exec!);
    await sleep(500);
    await this.halt(bg);
    let firstMs: number | undefined;
    for (const l of lines(log)) {
      if (
        !l.startsWith("type=SYSCALL") ||
        (!l.includes(`comm="${this.ctx.markerComm}"`) && !l.includes(`exe="${this.ctx.markerBin}"`))
      )
        continue;
      const m = /audit\((\d+)\.(\d+):/.exec(l);
      if (m) {
        const t = Number(m[1]) * 1000 + Number(m[2]);
        if (firstMs === undefined || t < firstMs) firstMs = t;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    if (firstMs === undefined) throw new Error("auditd: no marker exec logged");
    return { ms: firstMs - bg.launchRealMs, how: "launch of auditd → audit timestamp (ms) of the first marker execve" };
  }
}

function auditStatus(): Record<string, string> {
  const out = sh("auditctl", ["-s"], { allowFail: true });
  return Object.fromEntries(
    out
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 2)
      .map((f) => [f[0]!, f[1]!]),
  );
}
function auditPid(): number {
  return Number(auditStatus().pid ?? 0);
}
function auditLost(): number {
  return Number(auditStatus().lost ?? 0);
}
function auditPidIsChildOf(wrapperPid: number): boolean {
  const pid = auditPid();
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === wrapperPid;
  } catch {
    return false;
  }
}

/** The kernel's audit switch and backlog before the bench touched them (`auditctl -s`). */
let auditBefore: { enabled: string; backlog: string } | undefined;

/** Call once before the first audit run: what restoreAudit() puts back. */
export function rememberAuditState(): void {
  const s = auditStatus();
  auditBefore = { enabled: s.enabled ?? "0", backlog: s.backlog_limit ?? "64" };
}

function restoreAudit(): void {
  sh("auditctl", ["-b", auditBefore?.backlog ?? "64"], { allowFail: true });
  sh("auditctl", ["-e", auditBefore?.enabled ?? "0"], { allowFail: true });
}

/** After the run: audit rules deleted, the audit switch and backlog as they were, no auditd of ours left. */
export function auditCleanup(): void {
  sh("auditctl", ["-D"], { allowFail: true });
  restoreAudit();
}
