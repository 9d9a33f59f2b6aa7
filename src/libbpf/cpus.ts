// The number of possible CPUs: per-CPU maps hold one value slot for each.
import { readFileSync } from "node:fs";

let cached: number | undefined;

/** Parses /sys/devices/system/cpu/possible ("0-1", "0,2-3"). */
export function parseCpuList(text: string): number {
  let max = -1;
  for (const part of text.trim().split(",")) {
    const [a, b] = part.split("-").map((x) => Number.parseInt(x, 10));
    max = Math.max(max, b ?? a ?? -1);
  }
  return max + 1;
}

export function possibleCpus(): number {
  cached ??= parseCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));
  return cached;
}
