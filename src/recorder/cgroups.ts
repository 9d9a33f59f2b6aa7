// The cgroup v2 tree at the start of a recording: id (the directory's inode) → path, with the
// container id where the path names one (docker, containerd/cri, podman, libpod).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";
const MAX_CGROUPS = 20000;
const CONTAINER_ID = /(?:docker|cri-containerd|crio|libpod|containerd)[-:]([0-9a-f]{12,64})(?:\.scope)?$|\/([0-9a-f]{64})$/;

export interface CgroupEntry {
  id: bigint;
  path: string;
  containerId?: string;
}

/** Walks /sys/fs/cgroup breadth-first (at most MAX_CGROUPS entries). Returns [] where cgroup v2 is absent. */
export function snapshotCgroups(): CgroupEntry[] {
  const out: CgroupEntry[] = [];
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
