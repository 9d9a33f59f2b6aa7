// Child workloads for kernel tests: started paused so filters can name them before they run.
import { spawn, type ChildProcess } from "node:child_process";

export interface Paused {
  pid: number;
  child: ChildProcess;
  /** Lets the workload run; resolves with its exit code. */
  run: () => Promise<number>;
}

/**
 * Spawns `sh -c 'read _; exec CMD'`-style: the shell waits for one line on stdin, then execs the
 * workload in place (same pid), so the pid is known before the workload starts.
 */
export function paused(command: string, args: string[] = []): Paused {
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("/bin/sh", ["-c", `read _; exec ${quoted}`], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number>((resolve) => child.on("exit", (code, sig) => resolve(code ?? (sig ? 128 : -1))));
  return {
    pid: child.pid!,
    child,
    run: () => {
      child.stdin!.end("go\n");
      return exited;
    },
  };
}

/** Collects a child's stdout as text. */
export function stdoutOf(p: Paused): Promise<string> {
  return new Promise((resolve) => {
    let s = "";
    p.child.stdout!.on("data", (d: Buffer) => (s += d.toString()));
    p.child.stdout!.on("end", () => resolve(s));
  });
}
