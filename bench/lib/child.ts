// Each measured run of a bench in a fresh process (its own heap and peak RSS): the script runs itself as a child.
import { spawnSync } from "node:child_process";

/** Runs `script` again under this Node with `args`; returns the child's last stdout line (its JSON result). */
export function runChild(script: string, args: string[]): string {
  const r = spawnSync(process.execPath, [script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${args.join(" ")} exited ${r.status ?? r.signal}`);
  return r.stdout.trim().split("\n").pop()!;
}
