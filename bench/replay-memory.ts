// bench/replay-memory: peak RSS and events/s of `sealtrace replay` on a sealed session of >= 1 GiB
// (issue 6: under 500 MB RSS). A child process writes the session (bench/lib/session-mix.ts); then each
// measurement runs in a fresh child, so its maxRSS is its own: the baseline (openSession + every frame
// verified, decrypted and decoded, no reconstruction), and loadSessions + render for the `summary` view
// and for `--format json`, as src/cli/commands/replay.ts does them. The file is deleted afterwards.
// `--against DIR`: another build's replay (DIR/dist, e.g. a `git archive` of an older commit built in /tmp)
// is measured on the same file after this one, mode by mode, so their ratio holds on a loaded machine.
// Load CPU time (user + system) is given beside wall time: on a shared machine it varies far less.
// Usage: node dist/bench/replay-memory.js [--gib 1] [--keep] [--reuse FILE (its key in FILE.key)] [--against DIR]
import { mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { openSession } from "../src/session/reader.js";
import { runChild } from "./lib/child.js";
import { DEFAULT_MIX, writeMixSession, type MixResult } from "./lib/session-mix.js";

const self = fileURLToPath(import.meta.url);
/** This build's root (dist/..): the default build a child measures. */
const OWN_ROOT = join(dirname(self), "..", "..");
const MiB = 2 ** 20;

interface Measured {
  mode: string;
  events: number;
  loadMs: number;
  /** CPU time (user + system, all threads) of the load: steadier than wall time on a shared machine. */
  loadCpuMs: number;
  renderMs: number;
  outputBytes: number;
  maxRssMiB: number;
  entities?: string;
}

const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

async function child(mode: string, path: string, root: string): Promise<Measured> {
  const identity = readFileSync(`${path}.key`, "utf8").trim();
  const url = (rel: string) => pathToFileURL(join(root, "dist", "src", "replay", rel)).href;
  const { boundHeapGrowth } = (await import(url("heap.js"))) as typeof import("../src/replay/heap.js");
  const { loadSessions } = (await import(url("load.js"))) as typeof import("../src/replay/load.js");
  const { renderChunks } = (await import(url("render.js"))) as typeof import("../src/replay/render.js");
  boundHeapGrowth(); // as src/cli/commands/replay.ts does
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const cpuMs = (): number => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  if (mode === "baseline") {
    const reader = await openSession(path, { identities: [identity] });
    let n = 0;
    for await (const f of reader.frames()) n += f.records.length;
    return {
      mode,
      events: n,
      loadMs: performance.now() - t0,
      loadCpuMs: cpuMs(),
      renderMs: 0,
      outputBytes: 0,
      maxRssMiB: maxRssMiB(),
    };
  }
  const { replay, events } = await loadSessions([path], [identity]);
  const t1 = performance.now();
  const loadCpuMs = cpuMs();
  // As the CLI writes it: chunk by chunk (counted here, not written).
  let outputBytes = 0;
  for (const chunk of renderChunks(replay, "summary", mode === "json" ? "json" : "text", false))
    outputBytes += Buffer.byteLength(chunk);
  const t2 = performance.now();
  const entities = `${replay.processes.length} processes, ${replay.connections.length} connections, ${replay.files.length} files`;
  return {
    mode,
    events,
    loadMs: t1 - t0,
    loadCpuMs,
    renderMs: t2 - t1,
    outputBytes,
    maxRssMiB: maxRssMiB(),
    entities,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "child") {
    console.log(JSON.stringify(await child(argv[1]!, argv[2]!, argv[3] ?? OWN_ROOT)));
    return;
  }
  if (argv[0] === "generate") {
    const identity = await generateX25519Identity();
    writeFileSync(`${argv[1]!}.key`, identity + "\n", { mode: 0o600 });
    const r = await writeMixSession(argv[1]!, await identityToRecipient(identity), {
      ...DEFAULT_MIX,
      targetBytes: Number(argv[2]),
    });
    console.log(JSON.stringify({ ...r, maxRssMiB: maxRssMiB() }));
    return;
  }
  const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const gib = Number(option("--gib") ?? 1);
  if (!(gib > 0)) throw new Error("--gib: expected a positive number");
  const reuse = option("--reuse");
  const against = option("--against");
  const keep = argv.includes("--keep") || reuse !== undefined;
  const dir = reuse ? dirname(reuse) : mkdtempSync(join(tmpdir(), "sealtrace-bench-replay-mem-"));
  const path = reuse ?? join(dir, "big.sealed");
  try {
    let gen: (MixResult & { maxRssMiB: number }) | undefined;
    if (!reuse) {
      const fs = statfsSync(dir);
      const freeBytes = fs.bavail * fs.bsize;
      if (freeBytes < gib * 2 ** 30 * 1.5)
        throw new Error(`${dir}: ${(freeBytes / 2 ** 30).toFixed(1)} GiB free, need ${(gib * 1.5).toFixed(1)}`);
      gen = JSON.parse(runChild(self, ["generate", path, String(gib * 2 ** 30)])) as MixResult & { maxRssMiB: number };
    }
    const bytes = statSync(path).size;
    if (gen) {
      console.log(
        `generated ${gen.events} events (${gen.churned} churned processes, ${gen.snapshots} map snapshots) in ${gen.seconds.toFixed(0)} s, generator RSS ${gen.maxRssMiB.toFixed(0)} MiB`,
      );
    }
    console.log(`sealed file: ${(bytes / MiB).toFixed(0)} MiB (${(bytes / 2 ** 30).toFixed(2)} GiB)`);
    console.log("| run | build | events | load s | load CPU s | render s | events/s (load) | output | peak RSS |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    const runs: Array<[string, string]> = [["baseline", OWN_ROOT]];
    for (const mode of ["summary", "json"]) {
      runs.push([mode, OWN_ROOT]);
      if (against) runs.push([mode, resolve(against)]);
    }
    for (const [mode, root] of runs) {
      const m = JSON.parse(runChild(self, ["child", mode, path, root])) as Measured;
      const build = mode === "baseline" ? "" : root === OWN_ROOT ? "this" : `against (${root})`;
      // The baseline counts msgpack records (one per ring drain or snapshot), not kernel events.
      const events = mode === "baseline" ? `(${m.events} records)` : String(m.events);
      const rate = mode === "baseline" ? "-" : `${(m.events / (m.loadMs / 1000) / 1e6).toFixed(2)} M`;
      console.log(
        `| ${mode} | ${build} | ${events} | ${(m.loadMs / 1000).toFixed(1)} | ${(m.loadCpuMs / 1000).toFixed(1)} | ${(m.renderMs / 1000).toFixed(1)} | ${rate} | ${(m.outputBytes / MiB).toFixed(1)} MiB | ${m.maxRssMiB.toFixed(0)} MiB |${m.entities ? ` ${m.entities}` : ""}`,
      );
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
