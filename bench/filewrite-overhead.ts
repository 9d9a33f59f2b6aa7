// Micro-benchmark of the filewrite bundle's hot path (issue 8, acceptance 6): a 64-byte write storm
// with and without the bundle attached, run alternately, plus the program's own per-call cost from
// kernel bpf stats. Standalone: `npx tsc -p . && sudo node dist/bench/filewrite-overhead.js [options]`.
//
//   --pairs N         baseline/traced pairs (default 7); the order alternates within pairs
//   --writes N        write(2) calls per storm (default 2000000), 64 bytes each
//   --dir DIR         where the storm's file lives (default /tmp; /dev/shm for tmpfs)
//   --object PATH     the bundle object (default bpf/filewrite.bpf.o), e.g. an older build to compare
//   --stats-runs N    traced storms with kernel.bpf_stats_enabled=1 for the per-call cost (default 3)
//   --compare PATH    a second object run in the same rounds (baseline, object, PATH, order rotating)
//   --hot-only        attach the syscall program to write(2)'s exit only (not the other syscalls'): diagnostics
//   --with-privilege  a third condition in the same rounds: the bundle plus the privilege bundle (both attached,
//                     as triage runs them), to show what privilege adds to a write storm (BENCH_PRIV_NO_ENTER=1:
//                     without its sys_enter program, for the cost of that probe alone)
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

const STORM_C = `/* 64-byte write storm: argv[2] write(2) calls to the file argv[1]; prints the loop's ns. */
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
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf)) { perror("write"); return 1; }
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	unlink(argv[1]);
	printf("%lld\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
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

function storm(bin: string, file: string, writes: number): number {
  const r = spawnSync(bin, [file, String(writes)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`storm failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / 1e9;
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

  const compare = arg("compare", "");
  const withPriv = process.argv.includes("--with-privilege");
  const privRatios: number[] = [];
  const base: number[] = [];
  const traced: number[] = [];
  const ratios: number[] = [];
  const cmpRatios: number[] = [];
  const tracedRun = (path: string): number => {
    const a = attach(path);
    try {
      return storm(bin, file, writes);
    } finally {
      detach(a);
    }
  };
  const privRun = (): number => {
    const a = attach(objectPath);
    try {
      const p = attachPrivilege();
      try {
        return storm(bin, file, writes);
      } finally {
        detach(p);
      }
    } finally {
      detach(a);
    }
  };
  for (let i = 0; i < pairs; i++) {
    const conds = ["base", "obj", ...(compare ? ["cmp"] : []), ...(withPriv ? ["priv"] : [])];
    const order = conds.map((_, k) => conds[(k + i) % conds.length]!);
    const got: Record<string, number> = {};
    for (const c of order)
      got[c] =
        c === "base"
          ? storm(bin, file, writes)
          : c === "priv"
            ? privRun()
            : tracedRun(c === "obj" ? objectPath : compare);
    const b = got.base!;
    const t = got.obj!;
    base.push(b);
    traced.push(t);
    ratios.push(t / b);
    if (compare) cmpRatios.push(got.cmp! / b);
    if (withPriv) privRatios.push(got.priv! / b);
    console.log(
      `round ${i + 1}: baseline ${b.toFixed(3)} s, traced ${t.toFixed(3)} s, ratio ${(t / b).toFixed(3)}` +
        (compare ? `, compare ${(got.cmp! / b).toFixed(3)}` : "") +
        (withPriv ? `, with privilege ${(got.priv! / b).toFixed(3)}` : ""),
    );
  }

  // Per-call program cost: bpf stats add two clock reads per run, so they stay off for the ratios above.
  const prev = readFileSync(STATS, "utf8").trim();
  let statNs = 0n;
  let statCnt = 0n;
  try {
    writeFileSync(STATS, "1");
    for (let i = 0; i < statsRuns; i++) {
      const a = attach(objectPath);
      try {
        const s0 = hotStats(a.obj);
        storm(bin, file, writes);
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
  const summary = {
    object: objectPath,
    dir,
    writes,
    pairs,
    baselineMedianS: median(base),
    tracedMedianS: median(traced),
    ratioMedian: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    compare: compare || undefined,
    compareRatioMedian: compare ? median(cmpRatios) : undefined,
    compareRatioMin: compare ? Math.min(...cmpRatios) : undefined,
    withPrivilegeRatioMedian: withPriv ? median(privRatios) : undefined,
    withPrivilegeRatioMin: withPriv ? Math.min(...privRatios) : undefined,
    withPrivilegeRatioMax: withPriv ? Math.max(...privRatios) : undefined,
    compareRatioMax: compare ? Math.max(...cmpRatios) : undefined,
    nsPerWrite: perCall,
    otherSyscallsInStats: extra,
    loadavgBefore: load0.map((x) => +x.toFixed(2)),
    loadavgAfter: load1.map((x) => +x.toFixed(2)),
  };
  console.log(
    `${dir}: ratio median ${summary.ratioMedian.toFixed(3)} (min ${summary.ratioMin.toFixed(3)}, max ${summary.ratioMax.toFixed(3)}), ` +
      `baseline ${summary.baselineMedianS.toFixed(3)} s, traced ${summary.tracedMedianS.toFixed(3)} s; ` +
      (compare
        ? `compare ratio median ${median(cmpRatios).toFixed(3)} (min ${Math.min(...cmpRatios).toFixed(3)}, max ${Math.max(...cmpRatios).toFixed(3)}); `
        : "") +
      (withPriv
        ? `with privilege ratio median ${median(privRatios).toFixed(3)} (min ${Math.min(...privRatios).toFixed(3)}, max ${Math.max(...privRatios).toFixed(3)}); `
        : "") +
      `${HOT}: ${perCall.toFixed(1)} ns/call over ${statCnt} calls (${extra} not from the storm); ` +
      `load ${summary.loadavgBefore.join(" ")} → ${summary.loadavgAfter.join(" ")}`,
  );
  if (process.argv.includes("--json")) console.log(JSON.stringify(summary));
}

main();
