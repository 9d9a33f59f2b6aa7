// The cgroup v2 tree at the start of a recording: id (the directory's inode) → path, with the
// container id where the path names one (docker, containerd/cri, podman, libpod).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CgroupEntry, ProcCgroup } from "../session/records.js";

const DEFAULT_ROOT = "/sys/fs/cgroup";
const MAX_CGROUPS = 20000;
const CONTAINER_ID =
  /(?:docker|cri-containerd|crio|libpod|containerd)[-:]([0-9a-f]{12,64})(?:\.scope)?$|\/([0-9a-f]{64})$/;

/**
 * Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
 * hybrid one (systemd's legacy+unified layout), where /sys/fs/cgroup is a tmpfs of v1 hierarchies whose
 * inode numbers are not the cgroup ids bpf_get_current_cgroup_id() returns. undefined: no cgroup2 mount.
 */
export function cgroup2Root(mountinfo = "/proc/self/mountinfo"): string | undefined {
  let text: string;
  try {
    text = readFileSync(mountinfo, "utf8");
  } catch {
    return DEFAULT_ROOT;
  }
  let best: string | undefined;
  for (const line of text.split("\n")) {
    // mountinfo(5): fields, then " - ", then fstype source options.
    const sep = line.indexOf(" - ");
    if (sep < 0 || line.slice(sep + 3).split(" ")[0] !== "cgroup2") continue;
    const mountPoint = line
      .slice(0, sep)
      .split(" ")[4]
      ?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (
      mountPoint &&
      (best === undefined || mountPoint === DEFAULT_ROOT || (best !== DEFAULT_ROOT && mountPoint.length < best.length))
    )
      best = mountPoint;
  }
  return best;
}

/** Walks the cgroup v2 tree breadth-first (at most MAX_CGROUPS entries). Returns [] where cgroup v2 is absent. */
export function snapshotCgroups(root = cgroup2Root()): CgroupEntry[] {
  const out: CgroupEntry[] = [];
  if (root === undefined) return out;
  const ROOT = root;
  const queue = [ROOT];
  while (queue.length && out.length < MAX_CGROUPS) {
    const dir = queue.shift()!;
    let st;
    try {
      st = statSync(dir, { bigint: true });
    } catch {
      continue;
    }
    const rel = dir === ROOT ? "/" : dir.slice(ROOT.length);
    const m = CONTAINER_ID.exec(rel);
    const e: CgroupEntry = { id: st.ino, path: rel };
    const cid = m?.[1] ?? m?.[2];
    if (cid) e.containerId = cid;
    out.push(e);
    try {
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) queue.push(join(dir, d.name));
    } catch {
      /* vanished or unreadable */
    }
  }
  return out;
}

const MAX_PROCS = 100000;
const MAX_PATH = 4096;

/**
 * Each live process's cgroup v2 path from /proc/PID/cgroup (its `0::` line). The start iterator's task
 * records carry no cgroup id (bpf/common.bpf.h fill_hdr_task), so this is how processes that predate
 * the recording, a running container's above all, get theirs. Bounded; vanished processes are skipped.
 */
export function snapshotProcCgroups(proc = "/proc"): ProcCgroup[] {
  const out: ProcCgroup[] = [];
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return out;
  }
  for (const name of names) {
    if (out.length >= MAX_PROCS) break;
    if (!/^[1-9][0-9]{0,9}$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(join(proc, name, "cgroup"), "utf8");
    } catch {
      continue;
    }
    const line = text.split("\n").find((l) => l.startsWith("0::"));
    const path = line?.slice(3);
    if (path !== undefined && path.startsWith("/") && path.length <= MAX_PATH) out.push({ pid: Number(name), path });
  }
  return out;
}
