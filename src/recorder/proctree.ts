// Live processes from /proc: descendants of a target (to seed the followed set) and a list for the picker.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  uid: number;
}

/** Parses /proc/PID/stat's ppid and comm (comm may contain spaces and parentheses). */
export function parseStat(text: string): { comm: string; ppid: number } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(" ");
  return { comm: text.slice(open + 1, close), ppid: Number(rest[1]) };
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = parseStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (!stat) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      out.push({ pid: Number(name), ppid: stat.ppid, comm: stat.comm, cmdline, uid });
    } catch {
      /* the process exited while we looked */
    }
  }
  return out;
}

/** `pid` and every live descendant of it. */
export function descendants(pid: number, procs: ProcInfo[] = listProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}
