// Preloaded (node --import) into a CLI run by the hostile tests: at exit, writes the process's peak RSS
// in KiB to $SEALTRACE_HOSTILE_RSS_FILE. A run killed by a signal writes nothing.
// VmHWM, not getrusage's ru_maxrss: Linux carries the pre-exec peak (the forked test runner's) into
// ru_maxrss at execve, while VmHWM belongs to this process's own address space.
import { readFileSync, writeFileSync } from "node:fs";

const out = process.env.SEALTRACE_HOSTILE_RSS_FILE;
if (out) {
  process.on("exit", () => {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    writeFileSync(out, hwm ?? String(process.resourceUsage().maxRSS));
  });
}
