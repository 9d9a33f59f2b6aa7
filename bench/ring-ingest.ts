// Ring ingest: records/s drained into JS through the mmap ring reader, against the producer's rate in the same run.
// Run: npx tsc -p . && node dist/bench/ring-ingest.js [--records N] [--ring-mb M] [--reps R] [--per-call 8,64]   (root; gcc)
// The producer's rate is set by records per getppid(): 8 gives a few M/s, 64 as many as the kernel can emit.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BpfObject } from "../src/libbpf/object.js";
import { RingReader, forEachRecord } from "../src/libbpf/ring.js";
import { LOSS } from "../src/events/layouts.js";
import { sh } from "./lib/proc.js";
import { spread } from "./lib/stats.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RECORD_BYTES = 64;

interface Result {
  produced: number;
  received: number;
  lost: number;
  corrupt: number;
  producerPerS: number;
  drainedPerS: number;
}

async function once(producerBin: string, records: number, ringBytes: number, perCall: number): Promise<Result> {
  const calls = Math.ceil(records / perCall);
  const child = spawn(producerBin, [String(calls)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  // open → configure (trigger tgid, records per call, ring size) → load → attach.
  const obj = BpfObject.open(join(ROOT, "bpf", "ringtest.bpf.o"));
  try {
    obj.setRodata({ cfg_trigger_tgid: child.pid!, cfg_per_call: perCall });
    obj.setMaxEntries("events", ringBytes);
    obj.load();
    obj.attachAll();
    const ring = new RingReader(obj.map("events"));
    const bss = obj.mapNames().find((n) => n.endsWith(".bss"))!;
    const produced = () => Number(new DataView(obj.map(bss).lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true));
    let received = 0;
    let corrupt = 0;
    let next = 0;
    const consume = (): number => {
      const span = ring.drain();
      const v = new DataView(span.data.buffer);
      forEachRecord(span.data, (off, len) => {
        // Sequence numbers arrive in order on one producer thread; a gap is a loss, not corruption.
        const seq = Number(v.getBigUint64(off, true));
        if (len !== RECORD_BYTES || seq < next) corrupt++;
        next = seq + 1;
        received++;
      });
      return span.records;
    };
    let done = false;
    void exited.then(() => (done = true));
    const t0 = performance.now();
    let tLast = t0;
    child.stdin!.write("g");
    while (!done) {
      if (consume() > 0) tLast = performance.now();
      else await new Promise((r) => setImmediate(r));
    }
    if (consume() > 0) tLast = performance.now();
    const m = /ops=(\d+) elapsed_s=([\d.]+)/.exec(out);
    const producerS = Number(m?.[2] ?? NaN);
    const lost = Number(obj.map("losses").sumPerCpuU64(LOSS.ringFull));
    const p = produced();
    ring.close();
    return {
      produced: p,
      received,
      lost,
      corrupt,
      producerPerS: p / producerS,
      drainedPerS: received / ((tLast - t0) / 1000),
    };
  } finally {
    obj.close();
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "4194304" },
      "ring-mb": { type: "string", default: "16" },
      reps: { type: "string", default: "5" },
      "per-call": { type: "string", default: "4,8,64" },
    },
  });
  const records = Number(values.records);
  const ringBytes = Number(values["ring-mb"]) << 20;
  const buildDir = join(ROOT, "bench", "build");
  mkdirSync(buildDir, { recursive: true });
  const producerBin = join(buildDir, "ppidstorm");
  sh("gcc", ["-O2", "-Wall", "-o", producerBin, join(ROOT, "bench", "workloads", "ppidstorm.c")]);
  const f = (x: number) => x.toFixed(2);
  const lines = [
    "| records/run | ring | records per getppid | producer, M records/s | drained into JS, M records/s, median (min–max) | drained / produced rate | lost (runs with loss) | ≥ 2 M/s with 0 lost |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const perCall of values["per-call"].split(",").map(Number)) {
    const runs: Result[] = [];
    for (let i = 0; i < Number(values.reps); i++) {
      const r = await once(producerBin, records, ringBytes, perCall);
      runs.push(r);
      process.stderr.write(
        `ring-ingest: ${perCall}/call: produced ${r.produced}, received ${r.received}, lost ${r.lost}, corrupt ${r.corrupt}; producer ${(r.producerPerS / 1e6).toFixed(2)} M/s, drained ${(r.drainedPerS / 1e6).toFixed(2)} M/s\n`,
      );
    }
    const producer = spread(runs.map((r) => r.producerPerS / 1e6));
    const drained = spread(runs.map((r) => r.drainedPerS / 1e6));
    const ratio = spread(runs.map((r) => r.drainedPerS / r.producerPerS));
    const lost = runs.reduce((s, r) => s + r.lost, 0);
    const lossy = runs.filter((r) => r.lost > 0).length;
    const short = runs.reduce((s, r) => s + (r.produced - r.received - r.lost), 0);
    const ok = drained.min >= 2 && lost === 0 && short === 0 && runs.every((r) => r.corrupt === 0);
    lines.push(
      `| ${records.toLocaleString("en-US")} × ${RECORD_BYTES} B | ${ringBytes >> 20} MiB | ${perCall} | ${f(producer.median)} | ${f(drained.median)} (${f(drained.min)}–${f(drained.max)}) | ${f(ratio.median)}x (${f(ratio.min)}–${f(ratio.max)}) | ${lost} (${lossy}/${runs.length})${short ? `, ${short} unaccounted` : ""} | ${ok ? "✓" : "✗"} |`,
    );
  }
  console.log(lines.join("\n"));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
