// `--view process`: one process at a glance. Picks the process a `--pid` selector names (a pid can match
// several processes across pid reuse and hosts) and gathers its parents, execs, children, connections and files.
import { UserError } from "../errors.js";
import { connectionJson, fileJson, processJson } from "./document.js";
import type { Connection, ExecImage, FileActivity, PrivilegeEvent, ProcessEntity, Replay } from "./model.js";
import { privilegeJson } from "./privilege.js";
import { byStart } from "./processes.js";
import { isoFromNs } from "./time.js";

/** `N`, `N@START` (START: the start time as the match list prints it) or a process id `HOST:N:START_NS`. */
export interface ProcessSelector {
  pid: number;
  startIso: string | undefined;
  id: string | undefined;
}

/** Throws UserError(bad-input) for anything that is not one of the three forms. */
export function parseProcessSelector(text: string): ProcessSelector {
  const t = text.trim();
  const plain = /^(\d{1,10})$/.exec(t);
  if (plain) return { pid: Number(plain[1]), startIso: undefined, id: undefined };
  const at = /^(\d{1,10})@(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)$/.exec(t);
  if (at) return { pid: Number(at[1]), startIso: at[2], id: undefined };
  const id = /^([^:\s]{1,64}):(\d{1,10}):(\d{1,20})$/.exec(t);
  if (id) return { pid: Number(id[2]), startIso: undefined, id: t };
  throw new UserError(
    `--pid ${text}: give a pid (1234), a pid and its start time (1234@2026-11-24T03:16:27.984329Z) or a process id (host:1234:startns)`,
    "bad-input",
  );
}

/** Every process the selector names, oldest first. */
export function matchProcesses(r: Replay, sel: ProcessSelector): ProcessEntity[] {
  return r.processes
    .filter(
      (p) =>
        p.pid === sel.pid &&
        (sel.id === undefined || p.id === sel.id) &&
        (sel.startIso === undefined || sameStart(p, sel.startIso)),
    )
    .sort(byStart);
}

/** Start times compare at the precision given (`…:27Z`: any start in that second), down to the microsecond shown. */
function sameStart(p: ProcessEntity, iso: string): boolean {
  const given = iso.slice(0, -1).replace(/(\.\d{6})\d+$/, "$1");
  return isoFromNs(p.startNs).slice(0, -1).startsWith(given);
}

/** How a match is named for the user to pick it: `--pid` text that selects it alone. */
export function pickText(p: ProcessEntity, all: readonly ProcessEntity[]): string {
  const at = `${p.pid}@${isoFromNs(p.startNs)}`;
  const twins = all.filter((q) => q.pid === p.pid && isoFromNs(q.startNs) === isoFromNs(p.startNs));
  return twins.length > 1 ? p.id : at;
}

export interface ProcessDetail {
  process: ProcessEntity;
  hostname: string;
  /** Parent first, up to the root of what the recording knows. */
  parents: ProcessEntity[];
  children: ProcessEntity[];
  connections: Connection[];
  files: FileActivity[];
  privilege: PrivilegeEvent[];
}

export function processDetail(r: Replay, p: ProcessEntity): ProcessDetail {
  const byId = new Map(r.processes.map((q) => [q.id, q]));
  const parents: ProcessEntity[] = [];
  const seen = new Set([p.id]);
  for (
    let q = p.parentId === undefined ? undefined : byId.get(p.parentId);
    q && !seen.has(q.id);
    q = q.parentId === undefined ? undefined : byId.get(q.parentId)
  ) {
    seen.add(q.id); // a cycle in hostile input ends the walk
    parents.push(q);
  }
  return {
    process: p,
    hostname: r.sessions.find((s) => s.host === p.host)?.hostname ?? p.host,
    parents,
    children: r.processes.filter((q) => q.parentId === p.id || q.reparentedFrom === p.id).sort(byStart),
    connections: r.connections.filter((c) => c.processId === p.id),
    files: r.files.filter((f) => f.processId === p.id),
    // Its own calls, and the calls aimed at it (a kill, a ptrace attach).
    privilege: r.privilege.filter((e) => e.processId === p.id || e.targetId === p.id),
  };
}

/** The image a process ran at `atNs` (its latest exec by then), or its first if none was yet known. */
export function imageAt(p: ProcessEntity, atNs: bigint): ExecImage | undefined {
  let image: ExecImage | undefined;
  for (const e of p.execs) if (e.timeNs <= atNs || e.origin === "snapshot") image = e;
  return image ?? p.execs[0];
}

/** A short identity line for lists: comm [pid] and where it is in time. */
export function brief(p: ProcessEntity) {
  const image = p.execs[p.execs.length - 1];
  return {
    id: p.id,
    host: p.host,
    pid: p.pid,
    comm: p.comm,
    startTime: isoFromNs(p.startNs),
    exitTime: p.exitNs === undefined ? null : isoFromNs(p.exitNs),
    origin: p.origin,
    image: image ? image.filename : null,
  };
}

/** The JSON document of `--view process --format json`. */
export function processDetailJson(d: ProcessDetail) {
  return {
    process: { ...processJson(d.process), hostname: d.hostname },
    parents: d.parents.map((q) => ({ ...brief(q), parentOrigin: q.parentOrigin })),
    children: d.children.map((q) => ({
      ...brief(q),
      exitCode: q.exitCode ?? null,
      exitSignal: q.exitSignal ?? null,
      reparented: q.parentId !== d.process.id,
    })),
    connections: d.connections.map(connectionJson),
    files: d.files.map(fileJson),
    privilege: d.privilege.map(privilegeJson),
  };
}

/** The JSON document when a selector names several processes. */
export function matchesJson(selector: string, matches: readonly ProcessEntity[]) {
  return { selector, matches: matches.map((p) => ({ ...brief(p), pick: pickText(p, matches) })) };
}
