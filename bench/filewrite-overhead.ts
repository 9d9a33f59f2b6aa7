// Micro-benchmark of the filewrite bundle's hot path (issue 8, acceptance 6): a 64-byte write storm
// with and without the bundle attached, run alternately, plus the program's own per-call cost from
// kernel bpf stats. Standalone: `npx tsc -p . && sudo node dist/bench/filewrite-overhead.js [options]`.
//
//   --pairs N         baseline/traced pairs (default 7); the order alternates within pairs
//   --writes N        write(2) calls per storm (default 2000000), 64 bytes each
//   --dir DIR         where the storm's file lives (default /tmp; /dev/shm for tmpfs)
//   --object PATH     the bundle object (default bpf/filewrite.bpf.o), e.g. an older build to compare
//   --stats-runs N    traced storms with kernel.bpf_stats_enabled=1 for the per-call cost (default 3)
//   --compare PATHS   more objects run in the same rounds (baseline, object, each PATH, order rotating), comma-separated:
//                     e.g. the object before a change, or one whose syscall program returns at once (the floor)
//   --floor           also run, in the same rounds, this object built with its syscall program returning at once
//                     (bench/build/fw-floor.bpf.o, by clang): what the classic syscall tracepoints cost with our
//                     program doing nothing, the floor any program on them pays
//   --with-privilege  one more condition in the same rounds: the bundle plus the privilege bundle (both attached,
//                     as triage runs them), to show what privilege adds to a write storm (BENCH_PRIV_NO_ENTER=1:
//                     without its sys_enter program, for the cost of that probe alone); listed as compare "+privilege"
//   --hot-only        attach the syscall program to write(2)'s exit only (not the other syscalls'): diagnostics
//   --json            one JSON line at the end
//
// The storm program is compiled from the C source below into bench/build/ (gitignored).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpfObject } from "../src/libbpf/object.js";
import { RingReader } from "../src/libbpf/ring.js";
import { FILEWRITE_BUNDLE } from "../src/bundles/filewrite.js";
import { PRIVILEGE_BUNDLE } from "../src/bundles/privilege.js";
import { bundleObjectPath } from "../src/bundles/registry.js";
import { kernelFeatures } from "../src/libbpf/features.js";
import { attachMore, configureObject } from "../src/recorder/loader.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUILD = join(ROOT, "bench", "build");
const HOT = "filewrite_exit"; // on each of the bundle's syscalls' exit tracepoints (bpf/filewrite.bpf.c)

// Each storm prints its loop's wall ns and its thread's CPU ns: the tracing runs in the writing thread (the
// syscall's exit path), so CPU time holds all of its cost but none of the time the thread sat preempted by
// other work on a shared machine; the ratios are given both ways.
const STORM_C = `/* 64-byte write storm: argv[2] write(2) calls to the file argv[1]; prints the loop's wall ns and thread CPU ns. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	long n = atol(argv[2]);
	char buf[64];
	memset(buf, 'x', sizeof(buf));
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror(argv[1]); return 1; }
	struct timespec a, b, ca, cb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf)) { perror("write"); return 1; }
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	unlink(argv[1]);
	printf("%lld %lld\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
	       (long long)(cb.tv_sec - ca.tv_sec) * 1000000000LL + (cb.tv_nsec - ca.tv_nsec));
	return 0;
}
`;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

function buildStorm(): string {
  mkdirSync(BUILD, { recursive: true });
  const src = join(BUILD, "fw-storm.c");
  const bin = join(BUILD, "fw-storm");
  if (!existsSync(bin) || !existsSync(src) || readFileSync(src, "utf8") !== STORM_C) {
    writeFileSync(src, STORM_C);
    execFileSync("cc", ["-O2", "-o", bin, src]);
  }
  return bin;
}

/** One storm: its loop's wall seconds and its thread's CPU seconds. */
interface Storm {
  wall: number;
  cpu: number;
}

/**
 * The bundle's object with its syscall program returning at once (same maps, same tracepoints, same loader): the
 * floor. Built from bpf/filewrite.bpf.c with the Makefile's flags; the first statement of filewrite_exit becomes
 * an early return of 0 that the compiler cannot fold (ret is never -12345 on a hooked syscall's exit it counts).
 */
function buildFloor(): string {
  const src = readFileSync(join(ROOT, "bpf", "filewrite.bpf.c"), "utf8");
  const anchor = "int filewrite_exit(struct syscall_exit_ctx *ctx)\n{\n";
  if (!src.includes(anchor)) throw new Error("bench: filewrite_exit not found in bpf/filewrite.bpf.c: update --floor");
  const out = join(BUILD, "fw-floor.bpf.c");
  writeFileSync(out, src.replace(anchor, `${anchor}\tif (ctx->ret != -12345)\n\t\treturn 0;\n`));
  const obj = join(BUILD, "fw-floor.bpf.o");
  execFileSync("clang", [
    "-target",
    "bpf",
    "-O2",
    "-g",
    "-mcpu=v3",
    "-D__TARGET_ARCH_x86",
    "-Wall",
    "-Werror",
    `-I${join(ROOT, "bpf")}`,
    "-I/usr/include/x86_64-linux-gnu",
    "-c",
    out,
    "-o",
    obj,
  ]);
  return obj;
}

function storm(bin: string, file: string, writes: number): Storm {
  const r = spawnSync(bin, [file, String(writes)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`storm failed: ${r.stderr}`);
  const [wall, cpu] = r.stdout.trim().split(" ").map(Number);
  return { wall: wall! / 1e9, cpu: cpu! / 1e9 };
}

interface Attached {
  obj: BpfObject;
  ring: RingReader;
}

function attach(objectPath: string): Attached {
  const obj = BpfObject.open(objectPath);
  try {
    obj.setRodata({ cfg_self_tgid: process.pid, ...FILEWRITE_BUNDLE.rodata!({}) });
    if (process.argv.includes("--hot-only"))
      for (const p of obj.programNames()) if (p !== HOT) obj.setAutoload(p, false);
    obj.load();
    obj.attachAll();
    if (!process.argv.includes("--hot-only")) attachMore(obj, FILEWRITE_BUNDLE);
    return { obj, ring: new RingReader(obj.map(FILEWRITE_BUNDLE.ring)) };
  } catch (e) {
    obj.close();
    throw e;
  }
}

function detach(a: Attached): void {
  try {
    a.ring.drain();
    a.ring.close();
  } finally {
    a.obj.close();
  }
}

function hotStats(obj: BpfObject): { ns: bigint; cnt: bigint } {
  const s = obj.programStats().find((p) => p.name === HOT);
  return { ns: s?.runTimeNs ?? 0n, cnt: s?.runCount ?? 0n };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const STATS = "/proc/sys/kernel/bpf_stats_enabled";

/** The privilege bundle as the recorder attaches it alone (its variants for this kernel). */
function attachPrivilege(): Attached {
  const obj = BpfObject.open(bundleObjectPath(PRIVILEGE_BUNDLE));
  try {
    obj.setRodata({ cfg_self_tgid: process.pid });
    configureObject(obj, PRIVILEGE_BUNDLE, new Set(["privilege"]), kernelFeatures());
    // Diagnostics: without its sys_enter program (whose perf event puts a probe on every syscall's entry).
    if (process.env.BENCH_PRIV_NO_ENTER === "1") obj.setAutoload("privilege_enter", false);
    obj.load();
    obj.attachAll();
    attachMore(obj, PRIVILEGE_BUNDLE);
    return { obj, ring: new RingReader(obj.map(PRIVILEGE_BUNDLE.ring)) };
  } catch (e) {
    obj.close();
    throw e;
  }
}

function main(): void {
  const pairs = Number(arg("pairs", "7"));
  const writes = Number(arg("writes", "2000000"));
  const dir = arg("dir", "/tmp");
  const objectPath = arg("object", join(ROOT, "bpf", "filewrite.bpf.o"));
  const statsRuns = Number(arg("stats-runs", "3"));
  const bin = buildStorm();
  const file = join(dir, `fw-storm-${process.pid}.dat`);
  const load0 = loadavg();
  storm(bin, file, writes / 4); // warm-up: page cache, binary, allocator

  const compares = arg("compare", "")
    .split(",")
    .filter((c) => c !== "");
  if (process.argv.includes("--floor")) compares.push(buildFloor());
  /** The pseudo-object of --with-privilege: the bundle's object and the privilege bundle, attached together. */
  const WITH_PRIVILEGE = "+privilege";
  if (process.argv.includes("--with-privilege")) compares.push(WITH_PRIVILEGE);
  const base: Storm[] = [];
  const traced: Storm[] = [];
  /** Per object (the bundle's first, then each --compare): traced / baseline of the same round, wall and CPU. */
  const objects = [objectPath, ...compares];
  const ratios = objects.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  const tracedRun = (path: string): Storm => {
    const a = attach(path === WITH_PRIVILEGE ? objectPath : path);
    try {
      const p = path === WITH_PRIVILEGE ? attachPrivilege() : undefined;
      try {
        return storm(bin, file, writes);
      } finally {
        if (p) detach(p);
      }
    } finally {
      detach(a);
    }
  };
  for (let i = 0; i < pairs; i++) {
    const conds = [-1, ...objects.map((_, k) => k)]; // -1: no tracing
    const order = conds.map((_, k) => conds[(k + i) % conds.length]!);
    const got = new Map<number, Storm>();
    for (const c of order) got.set(c, c < 0 ? storm(bin, file, writes) : tracedRun(objects[c]!));
    const b = got.get(-1)!;
    base.push(b);
    traced.push(got.get(0)!);
    objects.forEach((_, k) => {
      ratios[k]!.wall.push(got.get(k)!.wall / b.wall);
      ratios[k]!.cpu.push(got.get(k)!.cpu / b.cpu);
    });
    console.log(
      `round ${i + 1}: baseline ${b.wall.toFixed(3)} s (cpu ${b.cpu.toFixed(3)} s), traced ${got.get(0)!.wall.toFixed(3)} s, ` +
        objects
          .map(
            (_, k) =>
              `${k ? `compare ${k}` : "ratio"} ${ratios[k]!.wall[i]!.toFixed(3)} (cpu ${ratios[k]!.cpu[i]!.toFixed(3)})`,
          )
          .join(", "),
    );
  }

  // Per-call program cost: bpf stats add two clock reads per run, so they stay off for the ratios above.
  const prev = readFileSync(STATS, "utf8").trim();
  let statNs = 0n;
  let statCnt = 0n;
  /** The traced storm's thread CPU seconds with the stats on, as a recording keeps them (two clock reads per run). */
  const statsCpu: number[] = [];
  try {
    writeFileSync(STATS, "1");
    for (let i = 0; i < statsRuns; i++) {
      const a = attach(objectPath);
      try {
        const s0 = hotStats(a.obj);
        statsCpu.push(storm(bin, file, writes).cpu);
        const s1 = hotStats(a.obj);
        statNs += s1.ns - s0.ns;
        statCnt += s1.cnt - s0.cnt;
      } finally {
        detach(a);
      }
    }
  } finally {
    writeFileSync(STATS, prev);
    rmSync(file, { force: true });
  }
  const load1 = loadavg();
  const perCall = statCnt > 0n ? Number(statNs) / Number(statCnt) : NaN;
  const extra = Number(statCnt) - statsRuns * writes; // other syscalls on the machine during the runs
  const spreadOf = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
  const summary = {
    object: objectPath,
    dir,
    writes,
    pairs,
    baselineMedianS: median(base.map((b) => b.wall)),
    baselineCpuMedianS: median(base.map((b) => b.cpu)),
    tracedMedianS: median(traced.map((t) => t.wall)),
    ratioMedian: median(ratios[0]!.wall),
    ratioMin: Math.min(...ratios[0]!.wall),
    ratioMax: Math.max(...ratios[0]!.wall),
    cpuRatio: spreadOf(ratios[0]!.cpu),
    /** Added thread CPU ns per write, median of rounds. */
    cpuAddedNsPerWrite: median(traced.map((t, i) => ((t.cpu - base[i]!.cpu) * 1e9) / writes)),
    compares: compares.map((path, k) => ({
      path,
      wall: spreadOf(ratios[k + 1]!.wall),
      cpu: spreadOf(ratios[k + 1]!.cpu),
    })),
    nsPerWrite: perCall,
    /** Thread CPU of the traced storm with kernel.bpf_stats_enabled=1 (as while recording) against without, medians. */
    statsOnCpuMedianS: statsCpu.length ? median(statsCpu) : undefined,
    statsOffCpuMedianS: median(traced.map((t) => t.cpu)),
    otherSyscallsInStats: extra,
    loadavgBefore: load0.map((x) => +x.toFixed(2)),
    loadavgAfter: load1.map((x) => +x.toFixed(2)),
  };
  const fx = (x: { median: number; min: number; max: number }) =>
    `${x.median.toFixed(3)} (min ${x.min.toFixed(3)}, max ${x.max.toFixed(3)})`;
  console.log(
    `${dir}: ratio median ${summary.ratioMedian.toFixed(3)} (min ${summary.ratioMin.toFixed(3)}, max ${summary.ratioMax.toFixed(3)}), ` +
      `by thread CPU ${fx(summary.cpuRatio)}, +${summary.cpuAddedNsPerWrite.toFixed(1)} ns CPU per write; ` +
      `baseline ${summary.baselineMedianS.toFixed(3)} s (cpu ${summary.baselineCpuMedianS.toFixed(3)} s), traced ${summary.tracedMedianS.toFixed(3)} s; ` +
      summary.compares.map((c) => `compare ${c.path}: ratio ${fx(c.wall)}, by thread CPU ${fx(c.cpu)}; `).join("") +
      `${HOT}: ${perCall.toFixed(1)} ns/call over ${statCnt} calls (${extra} not from the storm); ` +
      (statsCpu.length
        ? `traced storm's CPU with bpf_stats on ${median(statsCpu).toFixed(3)} s vs off ${summary.statsOffCpuMedianS.toFixed(3)} s; `
        : "") +
      `load ${summary.loadavgBefore.join(" ")} → ${summary.loadavgAfter.join(" ")}`,
  );
  if (process.argv.includes("--json")) console.log(JSON.stringify(summary));
}

main();
