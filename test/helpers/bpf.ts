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
