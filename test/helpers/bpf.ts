// Test helpers for kernel tests: object paths, program census, child workloads.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** The repository root (tests run from dist/test/...). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function bpfObject(name: string): string {
  return join(ROOT, "bpf", `${name}.bpf.o`);
}

/** IDs and names of every BPF program loaded in the kernel, from bpftool. */
export function loadedPrograms(): Map<number, string> {
  const out = execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" });
  const progs = JSON.parse(out) as Array<{ id: number; name?: string }>;
  return new Map(progs.map((p) => [p.id, p.name ?? ""]));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Names of sealtrace's programs: `<bundle>_<action>` (bpf/*.bpf.c), cut by the kernel to 15
 * characters. test/run.mjs has its own copy; test/unit/program-names.test.ts checks both against the sources.
 */
export const OUR_PROGRAM = /^(exec|connect|retransmit|filewrite|privilege|ringtest)_/;

/** Waits until no sealtrace program is loaded (the kernel frees them shortly after their last fd closes); throws naming the survivors. */
export async function assertNoProbes(): Promise<void> {
  const ours = () => [...loadedPrograms().values()].filter((n) => OUR_PROGRAM.test(n));
  for (let i = 0; i < 50 && ours().length; i++) await sleep(100);
  const left = ours();
  if (left.length) throw new Error(`probes outlived the recorder: ${left.join(", ")}`);
}
