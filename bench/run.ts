// `npm run bench`: every workload, baseline alternating with each tracer, against ground truth; table to stdout, JSON in bench/results/.
// Env: BENCH_REPS (default 3), BENCH_WORKLOADS / BENCH_TRACERS (comma lists, substring match) to run part of the matrix;
// BENCH_BEFORE=/path/to/another/checkout adds its sealtrace (each bundle and triage, built there) to the same pairs;
// BENCH_TAX=0 leaves out what every syscall pays (bench/syscall-tax.ts: the getppid loop and the two mixes).
import { mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { cpus, loadavg, totalmem, release } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { installPackages, buildWorkloads, makeKey, bpfProgramIds, bpfPrograms } from "./lib/setup.js";
import { workloads, type Workload, type WorkloadName } from "./lib/workloads.js";
import { Sealtrace } from "./lib/sealtrace.js";
import {
  Bpftrace,
  LibbpfTool,
  Auditd,
  EXECSNOOP_COUNT,
  TCPLIFE_COUNT,
  probeLibbpfTools,
  auditCleanup,
  rememberAuditState,
} from "./lib/peers.js";
import { summarize, table, checkTargets, type Row, type RunPair } from "./lib/report.js";
import { spread, type Spread } from "./lib/stats.js";
import { sleep, sh, Background } from "./lib/proc.js";
import type { BenchContext, Tracer } from "./lib/tracer.js";
import { runTaxBench, taxTable, type TaxRow } from "./syscall-tax.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const REPS = Number(process.env.BENCH_REPS ?? 3);
/** After a tracer is ready, before the workload: its start-up work (snapshots, JIT) is not the steady state measured. */
const SETTLE_MS = 1000;
/** libbpf-tools tried for the record, with the workload each would cover. */
const LIBBPF_TOOLS = [
  "execsnoop",
  "exitsnoop",
  "tcpconnect",
  "tcpconnlat",
  "tcplife",
  "tcpstates",
  "tcptracer",
  "filetop",
  "vfsstat",
  "fsslower",
  "opensnoop",
  "bindsnoop",
];
const MARKER = "st-marker";

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const pick = (env: string | undefined, name: string) => !env || env.split(",").some((p) => name.includes(p.trim()));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the bench loads BPF programs and creates a netns: run it as root");
  const t0 = Date.now();
  const buildDir = join(ROOT, "bench", "build");
  const outDir = join(buildDir, "out");
  const installed = installPackages(log);
  rememberAuditState();
  buildWorkloads(ROOT, buildDir, MARKER);
  // Whatever an interrupted run left (a session's .partial would stop sealtrace from starting) goes first.
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const key = makeKey(ROOT, buildDir);
  const ctx: BenchContext = {
    root: ROOT,
    buildDir,
    outDir,
    rusageBin: join(buildDir, "rusage"),
    markerBin: join(buildDir, MARKER),
    markerComm: MARKER,
    ...key,
  };
  const conditions = { loadBefore: loadavg(), nodeProcs: countProcs("node"), start: new Date().toISOString() };
  log(
    `load average ${conditions.loadBefore.map((x) => x.toFixed(2)).join(" ")}, ${conditions.nodeProcs} node processes`,
  );
  const progsBefore = bpfProgramIds();

  const tools = probeLibbpfTools(LIBBPF_TOOLS);
  log(
    `libbpf-tools: ${Object.entries(tools)
      .map(([k, v]) => `${k}=${v === "works" ? "works" : "FAILS"}`)
      .join(" ")}`,
  );
  const tracers: Tracer[] = [
    new Sealtrace(ctx, "exec"),
    new Sealtrace(ctx, "connect"),
    new Sealtrace(ctx, "filewrite"),
    new Sealtrace(ctx, "retransmit"),
    new Sealtrace(ctx, "triage"),
    ...(process.env.BENCH_BEFORE
      ? (["exec", "connect", "filewrite", "retransmit", "triage"] as const).map(
          (b) => new Sealtrace({ ...ctx, root: process.env.BENCH_BEFORE! }, b, "BEFORE"),
        )
      : []),
    new Bpftrace(ctx),
    ...(tools.execsnoop === "works"
      ? [new LibbpfTool(ctx, "execsnoop", ["exec"], EXECSNOOP_COUNT, (f) => f[0] === MARKER)]
      : []),
    ...(tools.tcplife === "works" ? [new LibbpfTool(ctx, "tcplife", ["connect"], TCPLIFE_COUNT)] : []),
    new Auditd(ctx),
  ].filter((t) => pick(process.env.BENCH_TRACERS, t.name));

  const all = workloads(buildDir).filter((w) => pick(process.env.BENCH_WORKLOADS, w.name));
  const rows: Row[] = [];
  const first: Record<string, { ms: Spread; attachMs?: Spread; how: string; error?: string }> = {};
  let marker: ReturnType<typeof spawn> | undefined;
  let tax: TaxRow[] = [];
  try {
    for (const w of all)
      rows.push(
        ...(await measureWorkload(
          w,
          tracers.filter((t) => t.supports(w.name)),
        )),
      );
    // What the host pays for syscalls the bundles do not hook, and two realistic mixes (before the marker loop starts).
    if (process.env.BENCH_TAX !== "0") tax = await runTaxBench(ctx);
    marker = spawn(ctx.markerBin.replace(MARKER, "marker"), [ctx.markerBin, "2000"], { stdio: "ignore" });
    // The triage runbook for sealtrace (all bundles attached), and each peer that traces execs.
    const marking = tracers.filter(
      (t) =>
        (t.name.startsWith("sealtrace triage") && !t.name.endsWith("BEFORE")) ||
        t.family === "bpftrace" ||
        t.family === "auditd" ||
        t.name === "execsnoop",
    );
    for (const t of marking) {
      const ms: number[] = [];
      const attach: number[] = [];
      let how = "";
      try {
        for (let i = 0; i < REPS; i++) {
          const f = await t.firstEvent!();
          ms.push(f.ms);
          if (f.attachMs !== undefined) attach.push(f.attachMs);
          how = f.how;
          log(`first event ${t.name}: ${f.ms.toFixed(1)} ms`);
        }
        first[t.name] = { ms: spread(ms), ...(attach.length ? { attachMs: spread(attach) } : {}), how };
      } catch (e) {
        first[t.name] = { ms: spread([]), how, error: (e as Error).message };
      }
    }
  } finally {
    if (marker?.pid) marker.kill("SIGKILL");
    for (const bg of [...Background.live]) await bg.stop(10_000, "SIGTERM");
    for (const w of all) w.tearDown();
    auditCleanup();
    rmSync(outDir, { recursive: true, force: true });
  }
  await sleep(500);
  // Programs loaded since the start and still there: the bench's own would have no live holder; others
  // belong to whoever else is loading programs on this machine (their holder's pid and comm are named).
  const left = bpfPrograms().filter((p) => !progsBefore.has(p.id));
  const leftOver = {
    bpfProgramsOfTheBench: left.filter((p) => p.holders.length === 0).map((p) => `${p.id} ${p.name}`),
    bpfProgramsOfOthers: [...new Set(left.filter((p) => p.holders.length > 0).map((p) => p.holders.join(",")))],
    auditd: countProcs("auditd"),
    auditRules: sh("auditctl", ["-l"], { allowFail: true }).trim(),
    netns: sh("ip", ["netns", "list"], { allowFail: true })
      .split("\n")
      .filter((l) => l.startsWith("stbench")),
  };
  const targets = checkTargets(rows, first);
  const machine = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    bpftrace: sh("bpftrace", ["--version"], { allowFail: true }).trim(),
    commit: sh("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { allowFail: true }).trim(),
    /** Tracked files changed in the tree measured (the bench runs the working tree, not the commit). */
    dirty: sh("git", ["-C", ROOT, "status", "--short", "--untracked-files=no"], { allowFail: true })
      .trim()
      .split("\n")
      .filter(Boolean),
  };
  const conditionsAfter = { loadAfter: loadavg(), durationS: (Date.now() - t0) / 1000 };
  const text = `${table(rows, first, targets)}${tax.length ? `\n\n${taxTable(tax)}` : ""}`;
  process.stdout.write(
    `${text}\n\nmachine: ${JSON.stringify(machine)}\nconditions: ${JSON.stringify({ ...conditions, ...conditionsAfter })}\nlibbpf-tools: ${JSON.stringify(tools, null, 1)}\nleft over after the run: ${JSON.stringify(leftOver)}\n`,
  );
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        machine,
        conditions: { ...conditions, ...conditionsAfter },
        reps: REPS,
        installed,
        libbpfTools: tools,
        rows,
        first,
        targets,
        tax,
        leftOver,
      },
      (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v),
      1,
    ),
  );
  log(`results in ${file} (${conditionsAfter.durationS.toFixed(0)} s)`);
  const ours = [
    ...leftOver.bpfProgramsOfTheBench,
    ...leftOver.netns,
    ...(leftOver.auditRules && !/^No rules/.test(leftOver.auditRules) ? [`audit rules: ${leftOver.auditRules}`] : []),
    ...(leftOver.auditd ? [`${leftOver.auditd} auditd`] : []),
  ];
  if (ours.length) throw new Error(`left behind after the run: ${ours.join("; ")}`);
}

async function measureWorkload(w: Workload, tracers: Tracer[]): Promise<Row[]> {
  log(`workload ${w.name}: ${w.label}`);
  w.setUp();
  const pairs = new Map<Tracer, RunPair[]>(tracers.map((t) => [t, []]));
  const errors = new Map<Tracer, string>();
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const t of tracers) {
        if (errors.has(t) || rep >= (t.maxReps?.(w.name) ?? Infinity)) continue;
        const base = await w.run();
        try {
          const running = await t.start(w);
          await sleep(SETTLE_MS);
          const traced = await w.run(t.workloadTimeoutMs?.(w.name));
          const capture = await running.finish(w, traced.run);
          pairs.get(t)!.push({
            baselineS: base.run.elapsedS,
            tracedS: traced.run.elapsedS,
            truth: traced.truth,
            capture,
            ...(traced.run.stopped ? { stopped: true } : {}),
          });
          log(
            `  ${w.name} / ${t.name}: ${traced.run.stopped ? "≥ " : ""}${(traced.run.elapsedS / base.run.elapsedS).toFixed(3)}x (${base.run.elapsedS.toFixed(3)} → ${traced.run.elapsedS.toFixed(3)} s), captured ${capture.captured}/${traced.truth.events}${capture.capturedBytes !== undefined ? ` (${capture.capturedBytes}/${traced.truth.bytes} B)` : ""}, lost ${capture.lost}, cpu ${capture.cpuS.toFixed(2)} s, ${capture.diskBytes} B on disk${capture.note ? `; ${capture.note}` : ""}`,
          );
        } catch (e) {
          errors.set(t, (e as Error).message);
          log(`  ${w.name} / ${t.name}: FAILED ${(e as Error).message}`);
          auditCleanup();
        }
      }
    }
  } finally {
    w.tearDown();
  }
  return tracers.map((t) => summarize(w.name as WorkloadName, t.name, t.family, pairs.get(t)!, errors.get(t)));
}

function countProcs(comm: string): number {
  let n = 0;
  for (const pid of sh("ls", ["/proc"])
    .split("\n")
    .filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm) n++;
    } catch {
      /* gone */
    }
  }
  return n;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
