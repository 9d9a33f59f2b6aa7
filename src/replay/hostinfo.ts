// Per-host lookups replay fills from the session's `cgroups` and `users` records (docs/RECORDS.md):
// cgroup id → path, uid → user name, gid → group name. The records are hostile input: every field is
// type-checked and every table bounded; anything malformed is skipped, never trusted.
import { decodeCgroupPath } from "./container.js";
import type { ProcessEntity } from "./model.js";
import {
  uncheckedMap,
  type AccountEntry,
  type AccountFile,
  type CgroupEntry,
  type ProcCgroup,
  type Unchecked,
  type UsersRecord,
} from "../session/records.js";

/** Bounds per host: far above a real host (the recorder itself stops at 20,000 cgroups). */
const MAX_CGROUPS = 100000;
const MAX_ACCOUNTS = 100000;
const MAX_PATH = 4096;
const MAX_NAME = 64;
/** No control characters or bidi overrides in a name a view prints beside a uid. */
const SAFE_NAME = /^[^\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]{1,64}$/;

export interface AccountFileInfo {
  path: string;
  sha256: string | undefined;
  bytes: number;
  entries: number;
  error: string | undefined;
}

interface HostTables {
  cgroups: Map<bigint, string>;
  /** pid → cgroup path at record start, for processes whose records carry no cgroup id. */
  procCgroups: Map<number, string>;
  users: Map<number, string>;
  groups: Map<number, string>;
}

function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export class HostInfo {
  private readonly hosts = new Map<string, HostTables>();

  private tables(host: string): HostTables {
    let t = this.hosts.get(host);
    if (!t)
      this.hosts.set(host, (t = { cgroups: new Map(), procCgroups: new Map(), users: new Map(), groups: new Map() }));
    return t;
  }

  /** A `cgroups` record's entries: [{ id, path }]. A later record adds ids; it does not remove any. */
  cgroups(host: string, entries: unknown): void {
    if (!Array.isArray(entries)) return;
    const t = this.tables(host);
    for (const e of entries as unknown[]) {
      if (t.cgroups.size >= MAX_CGROUPS) return;
      const entry = uncheckedMap<CgroupEntry>(e);
      if (entry === undefined) continue;
      const { id, path } = entry;
      const key =
        typeof id === "bigint" ? id : typeof id === "number" && Number.isSafeInteger(id) ? BigInt(id) : undefined;
      if (key === undefined || key < 0n || typeof path !== "string" || path.length > MAX_PATH || !path.startsWith("/"))
        continue;
      t.cgroups.set(key, path);
    }
  }

  /** A `proc-cgroups` record's entries: [{ pid, path }]. The first record of a host wins for a pid. */
  procCgroups(host: string, entries: unknown): void {
    if (!Array.isArray(entries)) return;
    const t = this.tables(host);
    for (const e of entries as unknown[]) {
      if (t.procCgroups.size >= MAX_CGROUPS) return;
      const entry = uncheckedMap<ProcCgroup>(e);
      if (entry === undefined) continue;
      const { pid, path } = entry;
      if (
        !isId(pid) ||
        typeof path !== "string" ||
        path.length > MAX_PATH ||
        !path.startsWith("/") ||
        t.procCgroups.has(pid)
      )
        continue;
      t.procCgroups.set(pid, path);
    }
  }

  /** A `users` record: { passwd: {entries: [{id, name}], …}, group: {…} }. Returns the files it describes. */
  accounts(host: string, r: Unchecked<UsersRecord>): AccountFileInfo[] {
    const t = this.tables(host);
    const files: AccountFileInfo[] = [];
    for (const [which, table] of [
      ["passwd", t.users],
      ["group", t.groups],
    ] as const) {
      const f = r[which];
      if (typeof f !== "object" || f === null) continue;
      const file = f as Unchecked<AccountFile>;
      const entries = Array.isArray(file.entries) ? (file.entries as unknown[]) : [];
      files.push({
        path: typeof file.path === "string" ? file.path.slice(0, MAX_PATH) : which,
        sha256: typeof file.sha256 === "string" && /^[0-9a-f]{64}$/.test(file.sha256) ? file.sha256 : undefined,
        bytes: typeof file.bytes === "number" && Number.isSafeInteger(file.bytes) ? file.bytes : 0,
        entries: entries.length,
        error: typeof file.error === "string" ? file.error.slice(0, 200) : undefined,
      });
      for (const e of entries) {
        if (table.size >= MAX_ACCOUNTS) break;
        const entry = uncheckedMap<AccountEntry>(e);
        if (entry === undefined) continue;
        const { id, name } = entry;
        // The first entry for an id wins, as getpwuid(3) returns the first match.
        if (!isId(id) || typeof name !== "string" || name.length > MAX_NAME || !SAFE_NAME.test(name) || table.has(id))
          continue;
        table.set(id, name);
      }
    }
    return files;
  }

  /** Fills each process's cgroup path, owner and user name from its host's tables. */
  annotate(processes: readonly ProcessEntity[]): void {
    for (const p of processes) {
      const t = this.hosts.get(p.host);
      if (!t) continue;
      p.user = t.users.get(p.uid);
      // A process known only from the start snapshot has no cgroup id: its pid's path at record start.
      p.cgroupPath =
        p.cgroupId !== undefined
          ? t.cgroups.get(p.cgroupId)
          : p.origin === "snapshot"
            ? t.procCgroups.get(p.pid)
            : undefined;
      if (p.cgroupPath !== undefined) p.container = decodeCgroupPath(p.cgroupPath);
    }
  }
}
