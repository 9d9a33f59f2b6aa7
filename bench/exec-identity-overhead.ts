// Exec storm under the exec bundle, this build's object against a baseline build's, in alternated rounds
// (issue 18, item 1: the executable identity must keep the storm within 2% of the baseline object).
// Standalone: `npx tsc -p . && sudo node dist/bench/exec-identity-overhead.js [options]`.
//
//   --rounds N        rounds (default 7); each runs: no tracing, this object, the baseline object, order rotating
//   --execs N         fork+execve(/bin/true) per storm (default 3000)
//   --baseline PATH   the baseline exec.bpf.o (default: `git show main:bpf/exec.bpf.o` into bench/build/)
//   --json            one JSON line at the end
//
// Besides the storm's wall time, the kernel's own run time of exec_exec per call (bpf_stats) for both objects.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpfObject } from "../src/libbpf/object.js";
import { RingReader } from "../src/libbpf/ring.js";
import { enableRunTimeStats } from "../src/libbpf/stats.js";
import { kernelFeatures } from "../src/libbpf/features.js";
import { EXEC_BUNDLE } from "../src/bundles/exec.js";
import { commonRodata, configureObject } from "../src/recorder/loader.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUILD = join(ROOT, "bench", "build");
const HOT = "exec_exec";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

function buildStorm(): string {
  mkdirSync(BUILD, { recursive: true });
  const bin = join(BUILD, "execstorm-id");
  execFileSync("cc", [
    "-O2",
    "-I",
    join(ROOT, "bench", "workloads"),
    "-o",
    bin,
    join(ROOT, "bench", "workloads", "execstorm.c"),
  ]);
  return bin;
}

function baselineObject(): string {
  const given = arg("baseline", "");
  if (given) return given;
  const path = join(BUILD, "exec-baseline.bpf.o");
  writeFileSync(path, execFileSync("git", ["-C", ROOT, "show", "main:bpf/exec.bpf.o"]));
  return path;
}

/** One storm: seconds for `n` fork+execs, as the workload reports it. */
function storm(bin: string, n: number): number {
  const r = spawnSync(bin, [String(n)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`storm failed: ${r.stderr}`);
  const m = /elapsed_s=([0-9.]+)/.exec(r.stdout);
  if (!m) throw new Error(`storm printed no time: ${r.stdout}`);
  return Number(m[1]);
}

interface Attached {
  obj: BpfObject;
  ring: RingReader;
}

function attach(path: string): Attached {
  const obj = BpfObject.open(path);
  try {
    obj.setRodata(commonRodata({}, process.pid));
    configureObject(obj, EXEC_BUNDLE, new Set(["exec"]), kernelFeatures());
    obj.load();
    obj.attachAll();
    return { obj, ring: new RingReader(obj.map(EXEC_BUNDLE.ring)) };
  } catch (e) {
    obj.close();
    throw e;
  }
}

/** Runs the storm with `a` attached (draining its ring alongside), then detaches; returns seconds and per-call ns. */
async function traced(a: Attached, bin: string, n: number): Promise<{ s: number; nsPerCall: number }> {
  const timer = setInterval(() => a.ring.drain(), 10);
  try {
    await new Promise((r) => setTimeout(r, 50));
    const s = await new Promise<number>((res, rej) => {
      try {
        res(storm(bin, n));
      } catch (e) {
        rej(e);
      }
    });
    const st = a.obj.programStats().find((p) => p.name === HOT);
    return { s, nsPerCall: st && st.runCount > 0n ? Number(st.runTimeNs) / Number(st.runCount) : NaN };
  } finally {
    clearInterval(timer);
    a.ring.drain();
    a.ring.close();
    a.obj.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const rounds = Number(arg("rounds", "7"));
  const n = Number(arg("execs", "3000"));
  const bin = buildStorm();
  const objects = { current: join(ROOT, "bpf", "exec.bpf.o"), baseline: baselineObject() };
  const stats = enableRunTimeStats();
  const wall: Record<"none" | "current" | "baseline", number[]> = { none: [], current: [], baseline: [] };
  const perCall: Record<"current" | "baseline", number[]> = { current: [], baseline: [] };
  const load = loadavg()[0]!;
  try {
    const arms = ["none", "current", "baseline"] as const;
    for (let i = 0; i < rounds; i++) {
      for (let j = 0; j < arms.length; j++) {
        const arm = arms[(i + j) % arms.length]!;
        if (arm === "none") wall.none.push(storm(bin, n));
        else {
          const r = await traced(attach(objects[arm]), bin, n);
          wall[arm].push(r.s);
          perCall[arm].push(r.nsPerCall);
        }
      }
    }
  } finally {
    stats.close();
  }
  const m = { none: median(wall.none), current: median(wall.current), baseline: median(wall.baseline) };
  const out = {
    rounds,
    execs: n,
    loadAvgStart: load,
    loadAvgEnd: loadavg()[0],
    medianS: m,
    currentOverNone: m.current / m.none,
    baselineOverNone: m.baseline / m.none,
    currentOverBaseline: m.current / m.baseline,
    execNsPerCall: { current: median(perCall.current), baseline: median(perCall.baseline) },
  };
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    process.stdout.write(
      [
        `exec storm, ${n} fork+execve(/bin/true), ${rounds} rounds (load ${load.toFixed(2)} → ${out.loadAvgEnd!.toFixed(2)})`,
        `  no tracing      ${m.none.toFixed(3)} s`,
        `  this object     ${m.current.toFixed(3)} s  ${out.currentOverNone.toFixed(3)}x  exec_exec ${out.execNsPerCall.current.toFixed(0)} ns/call`,
        `  baseline object ${m.baseline.toFixed(3)} s  ${out.baselineOverNone.toFixed(3)}x  exec_exec ${out.execNsPerCall.baseline.toFixed(0)} ns/call`,
        `  this / baseline ${out.currentOverBaseline.toFixed(3)}x`,
        "",
      ].join("\n"),
    );
  }
}

await main();
