// Filters: --pid (with descendants and the exec chain), --comm, --since/--until, --addr/--port, --host.
import type { Connection, FileActivity, LossGap, ProcessEntity, Replay } from "./model.js";

export interface ReplayFilter {
  pids?: readonly number[];
  comms?: readonly string[];
  sinceNs?: bigint;
  untilNs?: bigint;
  addrs?: readonly string[];
  ports?: readonly number[];
  /** Hostname, boot id (prefix) or host key. */
  hosts?: readonly string[];
  /** Container id prefix (or pod UID prefix). */
  containers?: readonly string[];
  /** systemd unit or scope name (`ssh` means `ssh.service`). */
  units?: readonly string[];
  /** User name, or a decimal uid. */
  users?: readonly string[];
  /** SHA-256 prefix (lower-case hex) of an executable the process ran. */
  sha256s?: readonly string[];
}

export function isEmptyFilter(f: ReplayFilter): boolean {
  return (
    !f.pids?.length &&
    !f.comms?.length &&
    f.sinceNs === undefined &&
    f.untilNs === undefined &&
    !f.addrs?.length &&
    !f.ports?.length &&
    !f.hosts?.length &&
    !f.containers?.length &&
    !f.units?.length &&
    !f.users?.length &&
    !f.sha256s?.length
  );
}

function overlaps(from: bigint | undefined, to: bigint | undefined, f: ReplayFilter): boolean {
  if (f.untilNs !== undefined && from !== undefined && from > f.untilNs) return false;
  if (f.sinceNs !== undefined && to !== undefined && to < f.sinceNs) return false;
  return true;
}

function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}

/** Every name a process went by: its comm and each exec'd file's basename. */
function names(p: ProcessEntity): string[] {
  return [p.comm, ...p.execs.map((e) => basename(e.filename))];
}

/** The processes with these pids and all their descendants (every incarnation of each pid). */
function withDescendants(processes: readonly ProcessEntity[], roots: Set<string>): Set<string> {
  const children = new Map<string, string[]>();
  for (const p of processes) {
    if (p.parentId === undefined) continue;
    const list = children.get(p.parentId);
    if (list) list.push(p.id);
    else children.set(p.parentId, [p.id]);
    // A re-parented orphan is still its first parent's descendant.
    if (p.reparentedFrom !== undefined) {
      const l2 = children.get(p.reparentedFrom);
      if (l2) l2.push(p.id);
      else children.set(p.reparentedFrom, [p.id]);
    }
  }
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const c of children.get(id) ?? []) stack.push(c);
  }
  return out;
}

function connectionMatches(c: Connection, f: ReplayFilter): boolean {
  if (f.addrs?.length && !f.addrs.some((a) => a === c.saddr || a === c.daddr)) return false;
  if (f.ports?.length && !f.ports.some((p) => p === c.sport || p === c.dport)) return false;
  return overlaps(c.startNs ?? c.establishedNs, c.endNs, f);
}

function fileTimes(x: FileActivity): [bigint | undefined, bigint | undefined] {
  let from = x.firstNs;
  let to = x.lastNs;
  for (const op of x.ops) {
    if (from === undefined || op.timeNs < from) from = op.timeNs;
    if (to === undefined || op.timeNs > to) to = op.timeNs;
  }
  return [from, to];
}

/** A new Replay holding what the filter selects; the input is not changed. */
export function applyFilter(r: Replay, f: ReplayFilter): Replay {
  if (isEmptyFilter(f)) return r;
  const sessions = f.hosts?.length
    ? r.sessions.filter((s) =>
        f.hosts!.some((h) => h === s.hostname || h === s.host || (h.length >= 4 && s.bootId.startsWith(h))),
      )
    : r.sessions;
  const hosts = new Set(sessions.map((s) => s.host));
  let processes = r.processes.filter((p) => hosts.has(p.host));
  if (f.pids?.length) {
    const pids = new Set(f.pids);
    const keep = withDescendants(processes, new Set(processes.filter((p) => pids.has(p.pid)).map((p) => p.id)));
    processes = processes.filter((p) => keep.has(p.id));
  }
  if (f.comms?.length) {
    const comms = new Set(f.comms);
    processes = processes.filter((p) => names(p).some((n) => comms.has(n)));
  }
  if (f.containers?.length) {
    const prefixes = f.containers.map((c) => c.toLowerCase());
    processes = processes.filter((p) =>
      prefixes.some((c) => (p.container?.id?.startsWith(c) ?? false) || (p.container?.podUid?.startsWith(c) ?? false)),
    );
  }
  if (f.units?.length) {
    const units = new Set(f.units.flatMap((u) => (u.includes(".") ? [u] : [u, `${u}.service`])));
    processes = processes.filter((p) => p.container?.unit !== undefined && units.has(p.container.unit));
  }
  if (f.users?.length) {
    const users = f.users;
    processes = processes.filter((p) => users.some((u) => u === p.user || (/^[0-9]+$/.test(u) && Number(u) === p.uid)));
  }
  if (f.sha256s?.length) {
    const prefixes = f.sha256s;
    processes = processes.filter((p) =>
      p.execs.some((e) => e.exe?.sha256 !== undefined && prefixes.some((h) => e.exe!.sha256!.startsWith(h))),
    );
  }
  processes = processes.filter((p) => overlaps(p.startNs, p.exitNs, f));
  const processFilter = !!(
    f.pids?.length ||
    f.comms?.length ||
    f.containers?.length ||
    f.units?.length ||
    f.users?.length ||
    f.sha256s?.length
  );
  let kept = new Set(processes.map((p) => p.id));
  const connections = r.connections.filter(
    (c) =>
      hosts.has(c.host) &&
      connectionMatches(c, f) &&
      (!processFilter || (c.processId !== undefined && kept.has(c.processId))),
  );
  if (f.addrs?.length || f.ports?.length) {
    const owners = new Set(connections.map((c) => c.processId));
    processes = processes.filter((p) => owners.has(p.id));
    kept = new Set(processes.map((p) => p.id));
  }
  const files =
    f.addrs?.length || f.ports?.length
      ? []
      : r.files.filter(
          (x) => hosts.has(x.host) && (!processFilter || kept.has(x.processId)) && overlaps(...fileTimes(x), f),
        );
  const privilege =
    f.addrs?.length || f.ports?.length
      ? []
      : r.privilege.filter(
          (x) => hosts.has(x.host) && (!processFilter || kept.has(x.processId)) && overlaps(x.timeNs, x.timeNs, f),
        );
  const losses: LossGap[] = r.losses.filter((l) => hosts.has(l.host) && overlaps(l.fromNs, l.toNs, f));
  return { sessions, processes, connections, files, privilege, losses };
}
