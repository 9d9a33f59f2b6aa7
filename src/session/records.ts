// The values a session holds (docs/RECORDS.md): frame 0's metadata, the records, the final frame's summary.
// The recorder writes these types; replay reads them back through Unchecked, since a session is hostile input.
import type { Layout } from "../events/layouts.js";
import type { Provenance } from "../provenance.js";

/** Who ran the recorder: the uid and user, and who they were before sudo. */
export interface Operator {
  uid: number;
  user: string;
  sudoUser?: string;
  sudoUid?: number;
}

/** A bundle as frame 0 names it; `unavailable`: what the kernel could not give, or gave another way (docs/EVENTS.md). */
export interface BundleInfo {
  name: string;
  object: string;
  sha256: string;
  unavailable: string[];
}

/** Frame 0. */
export interface SessionMetadata {
  tool: { name: "sealtrace"; version: string; node: string };
  /** Which build wrote the session: commit, Node, SHA-256 of dist/src and of every BPF object shipped. */
  build: Provenance;
  host: { hostname: string; bootId?: string; machineId?: string; kernel: string; kernelVersion?: string };
  operator: Operator;
  incident?: string;
  runbook: { name: string; path: string; sha256: string; text: string };
  bundles: BundleInfo[];
  /** The effective filters, bigints as decimal text. */
  filters: Record<string, unknown>;
  clock: { realtimeMinusBoottimeNs: bigint; startedAt: string };
  /** The event type numbers and every struct layout: a replay of an old file reads its own schema. */
  schema: { ev: Record<string, number>; layouts: readonly Layout[]; recordKinds: RecordKind[] };
  durationMs: number;
  recorderTgid: number;
}

/** Every record kind, in the order a recording first writes them. */
export const RECORD_KINDS = [
  "attach",
  "cgroups",
  "proc-cgroups",
  "users",
  "start",
  "ring",
  "exe-hash",
  "maps",
  "loss",
  "stats",
  "partial-deleted",
] as const;

export type RecordKind = (typeof RECORD_KINDS)[number];

/** Every probe attached; times in ms from process start, `loadMs` for open+verify+attach alone. */
export interface AttachRecord {
  k: "attach";
  t: bigint;
  startT: bigint;
  attachMs: number;
  loadMs: number;
  bundles: Array<{ b: string; programs: string[]; attachedMs: number }>;
}

/** A cgroup: `id` is its directory's inode, the id bpf_get_current_cgroup_id() returns. */
export interface CgroupEntry {
  id: bigint;
  /** Relative to the cgroup2 mount, starting with "/". */
  path: string;
  containerId?: string;
}

/** The cgroup v2 tree, after attaching and again at the end. */
export interface CgroupsRecord {
  k: "cgroups";
  t: bigint;
  entries: CgroupEntry[];
}

export interface ProcCgroup {
  pid: number;
  path: string;
}

/** Each live process's cgroup v2 path at record start. */
export interface ProcCgroupsRecord {
  k: "proc-cgroups";
  t: bigint;
  entries: ProcCgroup[];
}

export interface AccountEntry {
  id: number;
  name: string;
}

export interface AccountFile {
  path: string;
  /** Absent when the file could not be read; `error` says why. */
  sha256?: string;
  bytes: number;
  entries: AccountEntry[];
  /** Lines skipped as malformed, and whether the file was too large or had too many entries to parse whole. */
  skipped: number;
  truncated: boolean;
  error?: string;
}

/** The host's /etc/passwd and /etc/group at record start. */
export interface UsersRecord {
  k: "users";
  t: bigint;
  passwd: AccountFile;
  group: AccountFile;
}

/** A start iterator's output (`it`) of bundle `b`: kernel records in ring framing (src/events/framing.ts). */
export interface StartRecord {
  k: "start";
  b: string;
  it: string;
  t: bigint;
  d: Uint8Array;
}

/** `n` kernel records drained from bundle `b`'s ring, in ring framing. */
export interface RingRecord {
  k: "ring";
  b: string;
  t: bigint;
  n: number;
  d: Uint8Array;
}

/** The whole of aggregate map `m`: `n` rows of key then value. */
export interface MapsRecord {
  k: "maps";
  b: string;
  m: string;
  t: bigint;
  keySize: number;
  valueSize: number;
  n: number;
  d: Uint8Array;
}

/** Cumulative loss counters of bundle `b`; `dropped` by a runbook limit. */
export interface LossRecord {
  k: "loss";
  b: string;
  t: bigint;
  ringFull: bigint;
  mapFull: bigint;
  readFail: bigint;
  recursionMisses: bigint;
  dropped: number;
}

/** The executable hasher's losses (src/recorder/hasher.ts): identities it had no room to queue. */
export interface HasherLossRecord {
  k: "loss";
  b: "hasher";
  t: bigint;
  queueFull: number;
}

/** Why an identity has no hash (`exe-hash` record `why`). */
export type Unhashed = "gone" | "changed" | "queue-full" | "ended" | "unread" | `error:${string}`;

/** One executable identity (device, inode, ctime) and its SHA-256, or why it has none (docs/RECORDS.md). */
export interface ExeHashRecord {
  k: "exe-hash";
  t: bigint;
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
  size: bigint;
  mtimeNs: bigint;
  /** The file's ctime moved since the exec (an unlink, chmod or link) while its size and mtime did not. */
  ctimeMoved?: true;
  /** The first process seen executing it, and the name it was executed by. */
  pid: number;
  path: string;
  via?: "proc" | "path";
  sha256?: string;
  tooLarge?: true;
  why?: Unhashed;
}

/** The cost of bundle `b`'s programs. */
export interface ProgramStatsRecord {
  k: "stats";
  b: string;
  t: bigint;
  /** How long run-time statistics were on since the start (sampled: libbpf/stats.ts); absent before issue 20. */
  sampledMs?: number;
  progs: Array<{ name: string; runTimeNs: bigint; runCount: bigint; recursionMisses: bigint }>;
}

/** The recorder's own cost. */
export interface RecorderStatsRecord {
  k: "stats";
  b: "recorder";
  t: bigint;
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
}

/** Another process deleted the session file being written; where it was restored, or why not yet. */
export type PartialDeletedRecord = { k: "partial-deleted"; t: bigint; path: string } & (
  { restoredTo: string; bytes: number } | { error: string }
);

export type SessionRecord =
  | AttachRecord
  | CgroupsRecord
  | ProcCgroupsRecord
  | UsersRecord
  | StartRecord
  | RingRecord
  | MapsRecord
  | LossRecord
  | HasherLossRecord
  | ExeHashRecord
  | ProgramStatsRecord
  | RecorderStatsRecord
  | PartialDeletedRecord;

export type EndReason = "duration" | "max-events" | "max-bytes" | "signal" | "disk-full" | "error";

/** Loss of one bundle over the whole recording; `events` stored. */
export interface BundleLosses {
  events: number;
  ringFull: bigint;
  mapFull: bigint;
  readFail: bigint;
  recursionMisses: bigint;
  dropped: number;
}

/** The final frame's summary. */
export interface SessionSummary {
  endReason: EndReason;
  /** e.g. "SIGINT", or the error's message. */
  endDetail?: string;
  startBootNs: bigint;
  endBootNs: bigint;
  /** ISO 8601. */
  endedAt: string;
  attachMs: number;
  /** Records per event name. */
  counts: Record<string, number>;
  losses: Record<string, BundleLosses>;
  events: number;
  partialDeleted?: Array<{ path: string } & ({ restoredTo: string } | { error: string })>;
}

/**
 * A stored value as a reader may trust it: the field names of T, each value still unknown (a session is
 * hostile input, so every value is checked where it is used). Writer and reader so agree on every key.
 */
export type Unchecked<T> = { readonly [F in keyof T]?: unknown };

/** A record whose kind is known, its other fields unchecked: a switch on `k` narrows to that kind's fields. */
export type UncheckedRecord = {
  [K in RecordKind]: Unchecked<Extract<SessionRecord, { k: K }>> & { readonly k: K };
}[RecordKind];

const KINDS: ReadonlySet<string> = new Set(RECORD_KINDS);

/** A map read from a session, unchecked, or undefined for anything else (a list, bytes, a scalar, nil). */
export function uncheckedMap<T>(value: unknown): Unchecked<T> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
    ? (value as Unchecked<T>)
    : undefined;
}

/** A stored record of a known kind, or undefined (not a map, or a kind this build does not know: skipped). */
export function uncheckedRecord(value: unknown): UncheckedRecord | undefined {
  const r = uncheckedMap<{ k: string }>(value);
  return r !== undefined && typeof r.k === "string" && KINDS.has(r.k) ? (r as UncheckedRecord) : undefined;
}
