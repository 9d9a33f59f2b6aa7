// The reconstructed entities replay keeps in memory: processes, connections, files, loss gaps, sessions.
// Times are Unix-epoch nanoseconds (bigint): boot time plus the session's realtimeMinusBoottimeNs.
import type { CgroupOwner } from "./container.js";
import type { AccountFileInfo } from "./hostinfo.js";
import type { TimeMarks } from "./marks.js";

/** How a fact is known: from an event, from the start-of-recording snapshot, or deduced by replay. */
export type Origin = "observed" | "snapshot" | "inferred";

export interface ExecImage {
  timeNs: bigint;
  filename: string;
  argv: string[];
  argvTruncated: boolean;
  cwd: string | undefined;
  origin: Origin;
  /** The executed file as the kernel saw it, and its hash (exefile.ts); undefined before sessions had it. */
  exe?: ExecFile | undefined;
}

/** The executable's identity (st_exec.exe_*) and what the session's `exe-hash` record says of it. */
export interface ExecFile {
  /** The kernel's dev_t (major << 20 | minor). */
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  nlink: number;
  mode: number;
  /** Unlinked when executed (and not fileless). */
  deleted: boolean;
  /** A memfd or an O_TMPFILE: never had a name. */
  fileless: boolean;
  worldWritableDir: boolean;
  /** The dynamic loader run as the program: what really ran is its first argument. */
  noexecBypass: boolean;
  sha256: string | undefined;
  tooLarge: boolean;
  /** Why there is no hash (the record's `why`), when the session says. */
  unhashed: string | undefined;
  /** How the recorder read the file it hashed: through the process (/proc/PID/exe) or by its path. */
  hashedVia: "proc" | "path" | undefined;
}

export interface ProcessEntity {
  /** Stable: host key, pid and start boot time. */
  id: string;
  host: string;
  pid: number;
  ppid: number;
  parentId: string | undefined;
  parentOrigin: Origin;
  /** Set when the kernel re-parented this process (its parent exited first). */
  reparentedFrom: string | undefined;
  startNs: bigint;
  startBootNs: bigint;
  comm: string;
  uid: number;
  /** The user name the session's `users` record gives this uid. */
  user: string | undefined;
  /** The cgroup v2 id of its last lifecycle record (fork, exec, exit, snapshot), its path, and what owns it. */
  cgroupId: bigint | undefined;
  cgroupPath: string | undefined;
  container: CgroupOwner | undefined;
  origin: Origin;
  execs: ExecImage[];
  exitNs: bigint | undefined;
  /** The exit status (wait(2) WEXITSTATUS) and the killing signal, if any. */
  exitCode: number | undefined;
  exitSignal: number | undefined;
  /** Fork seen: the time the parent forked it. */
  forkNs: bigint | undefined;
  /**
   * The file table's index of this process's files (files.ts), held here so the per-record lookup needs no
   * Map keyed by process. Not rendered.
   */
  fileIndex?: unknown;
  /** The process parentId names, set with it, so replay looks no parent up by id string. Not rendered. */
  parent?: ProcessEntity | undefined;
}

export type ConnectionOutcome =
  "established" | "connected" | "refused" | "timed out" | "error" | "aborted" | "pending" | "listening" | "closing";
export type Direction = "outbound" | "inbound" | "listen" | "unknown";

export interface Connection {
  id: string;
  host: string;
  sockId: bigint;
  processId: string | undefined;
  pid: number;
  comm: string;
  protocol: string;
  family: string;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  direction: Direction;
  origin: Origin;
  startNs: bigint | undefined;
  establishedNs: bigint | undefined;
  endNs: bigint | undefined;
  outcome: ConnectionOutcome;
  errno: number | undefined;
  retransmits: number;
  resets: number;
  /** Times of individual retransmits and resets, capped (the counts are exact); made at the first one. */
  retransmitTimes: TimeMarks | undefined;
  resetTimes: TimeMarks | undefined;
  connectSeen: boolean;
  resetInSynSent: boolean;
  /** The TCP state the socket closed from, when it closed before its outcome was known. */
  closedFromState: number | undefined;
  /** The socket's error (sk_err) when it closed before its outcome was known; undefined in sessions without it. */
  closeErr: number | undefined;
  /** When the start-of-recording snapshot saw it (origin "snapshot"): its place on the timeline. */
  snapshotNs: bigint | undefined;
  /** Creation order in its table (1, 2, …): keeps each tuple's list sorted when a connection moves to another tuple. Not rendered. */
  seq: number;
  /** The tuple key it is indexed under in its table (undefined until indexed), and whether that is out of date. Not rendered. */
  flowKey: string | undefined;
  flowPending: boolean;
}

export interface FileOp {
  kind: "delete" | "rename" | "chmod";
  timeNs: bigint;
  path: string;
  newPath: string | undefined;
  mode: number | undefined;
  ret: number;
  /** The process that made the call: the op is also listed under every other writer of the path. */
  actorId?: string;
}

export interface FileActivity {
  id: string;
  host: string;
  processId: string;
  pid: number;
  comm: string;
  path: string;
  dev: bigint;
  ino: bigint;
  bytes: bigint;
  writes: bigint;
  firstNs: bigint | undefined;
  lastNs: bigint | undefined;
  deleted: boolean;
  renamedTo: string | undefined;
  ops: FileOp[];
  pathTruncated: boolean;
}

/** Credentials of a task (st_priv new_* / old_*). Capability sets as 64-bit masks. */
export interface Creds {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  capEffective: bigint;
  capPermitted: bigint;
}

/** The privilege bundle's record (st_priv): one privilege-relevant syscall, failed ones included. */
export interface PrivilegeEvent {
  id: string;
  host: string;
  processId: string;
  pid: number;
  /** The calling thread. */
  tid: number;
  comm: string;
  timeNs: bigint;
  /** The syscall's name (setresuid, ptrace, ...), or `op N` for an operation this build does not know. */
  syscall: string;
  op: number;
  ret: number;
  /** The numeric arguments as called (registers di, si, dx, r10). */
  args: [bigint, bigint, bigint, bigint];
  /** kill/tgkill/ptrace: the pid as called; pidfd_send_signal: the pidfd's process; else 0. */
  target: number;
  /** The process the target pid named at that time, when the recording knows it (replay resolves it). */
  targetId: string | undefined;
  targetComm: string | undefined;
  aux: number;
  after: Creds;
  /** Before the call, for the cred-changing syscalls (stashed at sys_enter). */
  before: Creds | undefined;
  /** The string arguments (meaning per syscall: docs/EVENTS.md), at most three. */
  strings: string[];
  stringsTruncated: boolean;
  readFailed: boolean;
  /** prctl(PR_SET_NAME): the name before. */
  oldComm: string | undefined;
}

export interface LossGap {
  host: string;
  sessionIndex: number;
  bundle: string;
  count: bigint;
  fromNs: bigint;
  toNs: bigint;
}

export interface SessionInfo {
  index: number;
  path: string;
  sessionId: string;
  host: string;
  hostname: string;
  bootId: string;
  runbook: string;
  bundles: string[];
  /** What the recording kernel could not give, or gave another way, per bundle (metadata bundles[].unavailable). */
  unavailable: Array<{ bundle: string; what: string }>;
  realtimeMinusBoottimeNs: bigint;
  startNs: bigint | undefined;
  endNs: bigint | undefined;
  /** The last record time actually read (the readable end of a cut-off session). */
  lastRecordNs: bigint | undefined;
  status: string;
  verdictReason: string;
  framesGood: number;
  endReason: string | undefined;
  events: number;
  cutOff: boolean;
  /** The passwd and group files the session sealed (its `users` record). */
  accountFiles: AccountFileInfo[];
}

/** Everything a view needs. */
export interface Replay {
  sessions: SessionInfo[];
  processes: ProcessEntity[];
  connections: Connection[];
  files: FileActivity[];
  /** The privilege bundle's events, in record order. */
  privilege: PrivilegeEvent[];
  losses: LossGap[];
}
