// The JSON document (`--format json`): the contract in docs/REPLAY.md. Times ISO 8601, counts as numbers.
import type { CgroupOwner } from "./container.js";
import { devText } from "./exefile.js";
import type {
  Connection,
  ExecFile,
  ExecImage,
  FileActivity,
  LossGap,
  ProcessEntity,
  Replay,
  SessionInfo,
} from "./model.js";
import { exactBytes, exactJson } from "./exactjson.js";
import { isMidExec } from "./processes.js";
import { privilegeJson } from "./privilege.js";
import { isoFromNs } from "./time.js";

const iso = (ns: bigint | undefined): string | null => (ns === undefined ? null : isoFromNs(ns));

export function sessionJson(s: SessionInfo) {
  return {
    path: s.path,
    sessionId: s.sessionId,
    host: s.host,
    hostname: s.hostname,
    bootId: s.bootId,
    runbook: s.runbook,
    bundles: s.bundles,
    startTime: iso(s.startNs),
    endTime: iso(s.endNs),
    status: s.status,
    verdict: s.verdictReason,
    cutOff: s.cutOff,
    readableUntil: s.cutOff ? iso(s.lastRecordNs) : null,
    endReason: s.endReason ?? null,
    events: s.events,
    accountFiles: s.accountFiles.map((f) => ({
      path: f.path,
      sha256: f.sha256 ?? null,
      bytes: f.bytes,
      entries: f.entries,
      error: f.error ?? null,
    })),
    // Only when the recording kernel lacked something (docs/EVENTS.md, kernel support).
    ...(s.unavailable.length > 0 ? { unavailable: s.unavailable } : {}),
  };
}

function execJson(e: ExecImage) {
  return {
    time: isoFromNs(e.timeNs),
    filename: e.filename,
    argv: e.argv,
    argvTruncated: e.argvTruncated,
    cwd: e.cwd ?? null,
    origin: e.origin,
    midExec: isMidExec(e),
    sha256: e.exe?.sha256 ?? null,
    inode: e.exe ? String(e.exe.ino) : null,
    deleted: e.exe?.deleted ?? null,
    fileless: e.exe?.fileless ?? null,
    exe: e.exe ? exeJson(e.exe) : null,
  };
}

function exeJson(f: ExecFile) {
  return {
    dev: devText(f.dev),
    size: String(f.size),
    mode: f.mode.toString(8).padStart(6, "0"),
    nlink: f.nlink,
    mtime: isoFromNs(f.mtimeNs),
    ctime: isoFromNs(f.ctimeNs),
    worldWritableDir: f.worldWritableDir,
    noexecBypass: f.noexecBypass,
    tooLarge: f.tooLarge,
    unhashed: f.unhashed ?? null,
    hashedVia: f.hashedVia ?? null,
  };
}

function containerJson(o: CgroupOwner | undefined) {
  if (!o) return null;
  return {
    runtime: o.runtime ?? null,
    id: o.id ?? null,
    conmon: o.conmon,
    podUid: o.podUid ?? null,
    qos: o.qos ?? null,
    unit: o.unit ?? null,
  };
}

export function processJson(p: ProcessEntity) {
  return {
    id: p.id,
    host: p.host,
    pid: p.pid,
    ppid: p.ppid,
    parentId: p.parentId ?? null,
    parentOrigin: p.parentOrigin,
    reparentedFrom: p.reparentedFrom ?? null,
    startTime: isoFromNs(p.startNs),
    exitTime: iso(p.exitNs),
    exitCode: p.exitCode ?? null,
    exitSignal: p.exitSignal ?? null,
    comm: p.comm,
    uid: p.uid,
    user: p.user ?? null,
    cgroupId: p.cgroupId === undefined ? null : String(p.cgroupId),
    cgroup: p.cgroupPath ?? null,
    container: containerJson(p.container),
    origin: p.origin,
    execs: p.execs.map(execJson),
  };
}

export function latencyMs(c: Connection): number | null {
  if (c.startNs === undefined || c.establishedNs === undefined) return null;
  return Number(c.establishedNs - c.startNs) / 1e6;
}

export function connectionJson(c: Connection) {
  return {
    id: c.id,
    host: c.host,
    processId: c.processId ?? null,
    pid: c.pid,
    comm: c.comm,
    protocol: c.protocol,
    family: c.family,
    saddr: c.saddr,
    sport: c.sport,
    daddr: c.daddr,
    dport: c.dport,
    direction: c.direction,
    origin: c.origin,
    startTime: iso(c.startNs),
    establishedTime: iso(c.establishedNs),
    endTime: iso(c.endNs),
    latencyMs: latencyMs(c),
    outcome: c.outcome,
    errno: c.errno ?? null,
    retransmits: c.retransmits,
    resets: c.resets,
  };
}

export function fileJson(f: FileActivity) {
  return {
    id: f.id,
    host: f.host,
    processId: f.processId,
    pid: f.pid,
    comm: f.comm,
    path: f.path,
    pathTruncated: f.pathTruncated,
    bytes: Number(f.bytes),
    writes: Number(f.writes),
    firstTime: iso(f.firstNs),
    lastTime: iso(f.lastNs),
    deleted: f.deleted,
    renamedTo: f.renamedTo ?? null,
    chmods: f.ops
      .filter((o) => o.kind === "chmod")
      .map((o) => ({ time: isoFromNs(o.timeNs), mode: modeText(o.mode ?? 0), ret: o.ret })),
    ops: f.ops.map((o) => ({
      kind: o.kind,
      time: isoFromNs(o.timeNs),
      path: o.path,
      newPath: o.newPath ?? null,
      mode: o.mode === undefined ? null : modeText(o.mode),
      ret: o.ret,
    })),
  };
}

export function lossJson(l: LossGap) {
  return { host: l.host, bundle: l.bundle, count: Number(l.count), from: isoFromNs(l.fromNs), to: isoFromNs(l.toNs) };
}

export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** The whole document; deterministic for a given input. */
export function replayDocument(r: Replay) {
  return {
    sessions: r.sessions.map(sessionJson),
    processes: r.processes.map(processJson),
    connections: r.connections.map(connectionJson),
    files: r.files.map(fileJson),
    privilege: r.privilege.map(privilegeJson),
    losses: r.losses.map(lossJson),
  };
}

export function renderJson(r: Replay): string {
  return [...renderJsonChunks(r)].join("");
}

/**
 * The same text as exactJson(replayDocument(r), 2) + "\n", one entity at a time: the whole
 * document as objects plus its text took more memory than the reconstruction itself on a 1 GiB session.
 */
export function* renderJsonChunks(r: Replay): Generator<string> {
  const sections: Array<[string, () => Iterable<unknown>]> = [
    ["sessions", () => r.sessions.map(sessionJson)],
    ["processes", () => mapLazily(r.processes, processJson)],
    ["connections", () => mapLazily(r.connections, connectionJson)],
    ["files", () => mapLazily(r.files, fileJson)],
    ["privilege", () => mapLazily(r.privilege, privilegeJson)],
    ["losses", () => r.losses.map(lossJson)],
  ];
  yield "{";
  let firstSection = true;
  for (const [key, items] of sections) {
    yield `${firstSection ? "" : ","}\n  ${JSON.stringify(key)}: [`;
    firstSection = false;
    let n = 0;
    // An element at depth 2 is indented by 4; JSON.stringify escapes newlines inside strings, so every
    // raw newline is layout.
    for (const item of items()) {
      const lead = `${n++ === 0 ? "" : ","}\n    `;
      if (isLarge(item)) {
        yield lead;
        yield* indentedChunks(item, "    ");
      } else yield `${lead}${exactJson(item, 2).replaceAll("\n", "\n    ")}`;
    }
    yield n === 0 ? "]" : "\n  ]";
  }
  yield "\n}\n";
}

/** Lists longer than this inside one entity are written element by element. */
const LARGE_LIST = 256;

/**
 * An entity with a long list, or a list of objects holding a long list (a process with many execs, an exec
 * with many arguments): as one string it could pass V8's string length limit (issue 13).
 */
function isLarge(item: unknown): boolean {
  if (typeof item !== "object" || item === null) return false;
  for (const v of Object.values(item)) {
    if (!Array.isArray(v)) continue;
    if (v.length > LARGE_LIST) return true;
    for (const x of v)
      if (
        typeof x === "object" &&
        x !== null &&
        Object.values(x).some((y) => Array.isArray(y) && y.length > LARGE_LIST)
      )
        return true;
  }
  return false;
}

/** The same text as exactJson(v, 2) with every line after the first indented by `indent`, in pieces. */
function* indentedChunks(value: unknown, indent: string): Generator<string> {
  const inner = `${indent}  `;
  // exactBytes adds an object's `<key>Base64` siblings before its entries are walked, as JSON.stringify would.
  const v: unknown = exactBytes.call(undefined, "", value);
  if (Array.isArray(v) && v.length > 0) {
    // Plain values are batched into one piece per ~64 KiB: a generator per array element is slow.
    let piece = "[";
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i] ?? null;
      piece += `${i === 0 ? "" : ","}\n${inner}`;
      if (typeof x === "object" && x !== null) {
        yield piece;
        piece = "";
        yield* indentedChunks(x, inner);
      } else {
        piece += exactJson(x) ?? "null";
        if (piece.length >= 1 << 16) {
          yield piece;
          piece = "";
        }
      }
    }
    yield `${piece}\n${indent}]`;
    return;
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length > 0) {
      yield "{";
      for (const [i, [k, x]] of entries.entries()) {
        yield `${i === 0 ? "" : ","}\n${inner}${JSON.stringify(k)}: `;
        yield* indentedChunks(x, inner);
      }
      yield `\n${indent}}`;
      return;
    }
  }
  yield exactJson(v, 2) ?? "null";
}

function* mapLazily<T, U>(items: readonly T[], fn: (item: T) => U): Generator<U> {
  for (const item of items) yield fn(item);
}
