// Which binary ran: the exec record's executable identity (st_exec.exe_*) joined with the session's
// `exe-hash` records by (dev, inode, ctime). Hash records are hostile input: checked before kept.
import type { ExecFile, ProcessEntity } from "./model.js";
import type { Offsets } from "./schema.js";

const EXE_DELETED = 0x1;
const EXE_FILELESS = 0x2;
const EXE_WW_DIR = 0x4;
const EXE_UNREAD = 0x8;

/** The identity an exec record carries (undefined for sessions written before it, or when unread). */
export function exeFile(
  dev: bigint,
  ino: bigint,
  size: bigint,
  mtimeNs: bigint,
  ctimeNs: bigint,
  nlink: number,
  mode: number,
  flags: number,
  filename: string,
): ExecFile | undefined {
  if (flags & EXE_UNREAD) return undefined;
  return {
    dev,
    ino,
    size,
    mtimeNs,
    ctimeNs,
    nlink,
    mode,
    deleted: (flags & EXE_DELETED) !== 0,
    fileless: (flags & EXE_FILELESS) !== 0,
    worldWritableDir: (flags & EXE_WW_DIR) !== 0,
    noexecBypass: isLoader(filename),
    sha256: undefined,
    tooLarge: false,
    unhashed: undefined,
    hashedVia: undefined,
  };
}

/**
 * exeFile for one session's exec records, one object shared by consecutive execs of the same file with the
 * same identity (a shell loop running curl: thousands of images of one file, each an object of 5 bigints
 * kept to the end). Sharing is safe: nothing changes an ExecFile but ExeHashes.annotate, whose answer
 * depends only on the host and the identity, and one session has one host (a new session: a new maker).
 */
export class ExecFileMaker {
  private last: ExecFile | undefined;
  private lastFilename = "";
  /** The u32 halves of the last makeAt()'s dev, ino, size, mtime and ctime, then its nlink, mode and flags. */
  private readonly lastRaw = new Uint32Array(13);
  private lastRawValid = false;

  /**
   * make() from the exec record at `off` in `v` (its layout `o`): the same file as the last record's (the
   * same raw exe_* fields and name) is answered without reading any of them as a bigint.
   */
  makeAt(v: DataView, off: number, o: Offsets, filename: string): ExecFile | undefined {
    const raw = this.lastRaw;
    const at0 = off + o.exe_dev;
    const at1 = off + o.exe_ino;
    const at2 = off + o.exe_size;
    const at3 = off + o.exe_mtime_ns;
    const at4 = off + o.exe_ctime_ns;
    const nlink = v.getUint32(off + o.exe_nlink, true);
    const mode = v.getUint16(off + o.exe_mode, true);
    const flags = v.getUint16(off + o.exe_flags, true);
    if (
      this.lastRawValid &&
      this.lastFilename === filename &&
      raw[10] === nlink &&
      raw[11] === mode &&
      raw[12] === flags &&
      sameU64(v, at0, raw, 0) &&
      sameU64(v, at1, raw, 2) &&
      sameU64(v, at2, raw, 4) &&
      sameU64(v, at3, raw, 6) &&
      sameU64(v, at4, raw, 8)
    )
      return this.last;
    const made = this.make(
      v.getBigUint64(at0, true),
      v.getBigUint64(at1, true),
      v.getBigUint64(at2, true),
      v.getBigUint64(at3, true),
      v.getBigUint64(at4, true),
      nlink,
      mode,
      flags,
      filename,
    );
    if (made === undefined) return undefined; // make() left lastRawValid false
    copyU64(v, at0, raw, 0);
    copyU64(v, at1, raw, 2);
    copyU64(v, at2, raw, 4);
    copyU64(v, at3, raw, 6);
    copyU64(v, at4, raw, 8);
    raw[10] = nlink;
    raw[11] = mode;
    raw[12] = flags;
    this.lastRawValid = true;
    return made;
  }

  make(
    dev: bigint,
    ino: bigint,
    size: bigint,
    mtimeNs: bigint,
    ctimeNs: bigint,
    nlink: number,
    mode: number,
    flags: number,
    filename: string,
  ): ExecFile | undefined {
    this.lastRawValid = false; // makeAt() sets it again for what it made
    if (flags & EXE_UNREAD) return undefined;
    const l = this.last;
    if (
      l !== undefined &&
      l.ino === ino &&
      l.dev === dev &&
      l.size === size &&
      l.mtimeNs === mtimeNs &&
      l.ctimeNs === ctimeNs &&
      l.nlink === nlink &&
      l.mode === mode &&
      l.deleted === ((flags & EXE_DELETED) !== 0) &&
      l.fileless === ((flags & EXE_FILELESS) !== 0) &&
      l.worldWritableDir === ((flags & EXE_WW_DIR) !== 0) &&
      this.lastFilename === filename
    )
      return l;
    this.last = exeFile(dev, ino, size, mtimeNs, ctimeNs, nlink, mode, flags, filename);
    this.lastFilename = filename;
    return this.last;
  }
}

/**
 * The dynamic loader run as the program (`/lib64/ld-linux-x86-64.so.2 ./x`): it maps `x` itself, the
 * classic way round a noexec mount, so the file that really ran is its first argument.
 */
function isLoader(filename: string): boolean {
  const base = filename.slice(filename.lastIndexOf("/") + 1);
  return /^ld-linux[\w.-]*\.so(\.\d+)*$|^ld-musl-[\w.-]+\.so(\.\d+)*$|^ld\.so(\.\d+)*$/.test(base);
}

interface HashFacts {
  sha256: string | undefined;
  tooLarge: boolean;
  unhashed: string | undefined;
  via: "proc" | "path" | undefined;
}

const U64_END = 1n << 64n;
const u64 = (v: unknown): bigint | undefined =>
  typeof v === "bigint" && v >= 0n && v < U64_END
    ? v
    : typeof v === "number" && Number.isSafeInteger(v) && v >= 0
      ? BigInt(v)
      : undefined;

/** The `why` codes a recorder writes (src/recorder/hasher.ts); anything else is shown as "other". */
const WHY = /^(gone|changed|queue-full|ended|unread|error:[A-Za-z0-9_-]{1,32})$/;

export class ExeHashes {
  private readonly byKey = new Map<string, HashFacts>();

  get size(): number {
    return this.byKey.size;
  }

  /** One `exe-hash` record (docs/RECORDS.md). Returns false when it is malformed and was not kept. */
  add(host: string, r: Record<string, unknown>): boolean {
    const dev = u64(r.dev);
    const ino = u64(r.ino);
    const ctime = u64(r.ctimeNs);
    if (dev === undefined || ino === undefined || ctime === undefined) return false;
    const sha256 = typeof r.sha256 === "string" && /^[0-9a-f]{64}$/.test(r.sha256) ? r.sha256 : undefined;
    const why = typeof r.why === "string" ? (WHY.test(r.why) ? r.why : "other") : undefined;
    const via = sha256 && (r.via === "proc" || r.via === "path") ? r.via : undefined;
    const facts: HashFacts = { sha256, tooLarge: r.tooLarge === true, unhashed: sha256 ? undefined : why, via };
    if (!facts.sha256 && !facts.tooLarge && !facts.unhashed) return false;
    const key = `${host}:${dev}:${ino}:${ctime}`;
    // The first answer stands: one recorder writes one record per identity.
    if (!this.byKey.has(key)) this.byKey.set(key, facts);
    return true;
  }

  /** Puts each exec's hash (or why there is none) on it. */
  annotate(processes: readonly ProcessEntity[]): void {
    if (this.byKey.size === 0) return; // nothing to put on any exec: no key string per exec made
    for (const p of processes) {
      for (const e of p.execs) {
        const f = e.exe;
        if (!f) continue;
        const h = this.byKey.get(`${p.host}:${f.dev}:${f.ino}:${f.ctimeNs}`);
        if (!h) continue;
        f.sha256 = h.sha256;
        f.tooLarge = h.tooLarge;
        f.unhashed = h.unhashed;
        f.hashedVia = h.via;
      }
    }
  }
}

/** The short form text views show: the first 12 hex digits. */
export function shortHash(sha256: string): string {
  return sha256.slice(0, 12);
}

/** kernel dev_t (major << 20 | minor) as "major:minor". */
export function devText(dev: bigint): string {
  return `${dev >> 20n}:${dev & 0xfffffn}`;
}

/** What text views say of an exec's file: its short hash (or why none) and its flags; "" when unknown. */
export function exeTag(f: ExecFile | undefined, full = false): string {
  if (!f) return "";
  const parts = [
    f.sha256
      ? full
        ? f.sha256
        : shortHash(f.sha256)
      : f.tooLarge
        ? "too large to hash"
        : f.unhashed
          ? `no hash (${f.unhashed})`
          : "",
    f.fileless ? "fileless" : "",
    f.deleted ? "deleted" : "",
    f.worldWritableDir ? "world-writable dir" : "",
    f.noexecBypass ? "via loader" : "",
  ].filter(Boolean);
  return parts.join(", ");
}

function sameU64(v: DataView, at: number, raw: Uint32Array, i: number): boolean {
  return v.getUint32(at, true) === raw[i] && v.getUint32(at + 4, true) === raw[i + 1];
}

function copyU64(v: DataView, at: number, raw: Uint32Array, i: number): void {
  raw[i] = v.getUint32(at, true);
  raw[i + 1] = v.getUint32(at + 4, true);
}
