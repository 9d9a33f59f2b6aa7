// Finds tracefs (classic tracepoints need it to resolve their ids) and mounts it when absent.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

const TRACEFS = "/sys/kernel/tracing";
const DEBUGFS_TRACING = "/sys/kernel/debug/tracing";

/** The tracefs directory holding `events/`, or undefined when neither tracefs nor debugfs is mounted. */
export function tracefsDir(): string | undefined {
  if (existsSync(`${TRACEFS}/events`)) return TRACEFS;
  if (existsSync(`${DEBUGFS_TRACING}/events`)) return DEBUGFS_TRACING;
  return undefined;
}

/** Returns the tracefs directory, mounting tracefs at /sys/kernel/tracing if needed. Returns undefined when that fails. */
export function ensureTracefs(): string | undefined {
  const dir = tracefsDir();
  if (dir) return dir;
  try {
    execFileSync("mount", ["-t", "tracefs", "nodev", TRACEFS], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  return tracefsDir();
}

/** Whether the tracepoint `category/name` exists on this kernel. */
export function tracepointExists(category: string, name: string): boolean {
  const dir = ensureTracefs();
  return dir !== undefined && existsSync(`${dir}/events/${category}/${name}`);
}
