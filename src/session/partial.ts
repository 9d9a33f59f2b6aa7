// The files of a recording in progress: PATH.partial (the session so far) and PATH.reserve (room kept to
// seal on a full disk), and how the partial becomes PATH without following, clobbering or losing anything.
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import { dirname } from "node:path";
import { UserError } from "../errors.js";
import { libc, lastErrno } from "../libbpf/native.js";
import { createExclusive, describePath, existsError } from "./outfile.js";

/**
 * The least free space a recording starts with: the header, the metadata frame (it carries the runbook
 * text and the event schema), a final frame and the trailer. Measured here: 9–12 KiB for the shipped
 * runbooks; the rest is headroom for the first records.
 */
export const MIN_FREE_BYTES = 64 * 1024;
/** The reserve kept beside the partial file so a full disk still leaves room to seal. */
export const DEFAULT_RESERVE_BYTES = 256 * 1024;
/** The reserve takes at most this share of the free space, so a small filesystem still holds records. */
const RESERVE_SHARE_OF_FREE = 4;
const BLOCK_BYTES = 4096;
const COPY_CHUNK_BYTES = 1 << 20;
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** Where a deleted partial was restored to, and how many bytes were copied back. */
export interface Restored {
  readonly partialPath: string;
  readonly bytes: number;
}

export class SessionFiles {
  private reserveFd: number | undefined;
  private reserveId: FileId | undefined;
  private closed = false;

  private constructor(
    /** The final name. */
    readonly path: string,
    private partialName: string,
    private fd: number,
    private partialId: FileId,
    /** Bytes in PATH.reserve when it was made (0: no reserve). */
    readonly reserveBytes: number,
    reserveFd: number | undefined,
  ) {
    this.reserveFd = reserveFd;
    this.reserveId = reserveFd === undefined ? undefined : idOf(reserveFd);
  }

  /**
   * Creates PATH.partial and PATH.reserve (each O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) after checking that
   * nothing is at PATH. The reserve is `wantedReserveBytes`, cut to a quarter of the free space on a
   * small filesystem, and to what fits if the disk fills while it is written. Throws UserError(bad-input)
   * for anything at one of the three names or an unusable directory; UserError(disk-full) when fewer
   * than MIN_FREE_BYTES are free. Nothing is left behind when it throws.
   */
  static claim(path: string, wantedReserveBytes: number): SessionFiles {
    const there = describePath(path);
    if (there) throw existsError(path, there);
    const partialName = `${path}.partial`;
    const fd = createExclusive(partialName);
    const partialId = idOf(fd);
    let reserveFd: number | undefined;
    try {
      const free = freeBytes(dirname(path));
      if (free !== undefined && free < MIN_FREE_BYTES) {
        throw new UserError(
          `disk full: ${Math.floor(free / 1024)} KiB free in ${dirname(path)}; a session needs at least ${MIN_FREE_BYTES / 1024} KiB`,
          "disk-full",
        );
      }
      const share =
        free === undefined ? wantedReserveBytes : Math.floor(free / RESERVE_SHARE_OF_FREE / BLOCK_BYTES) * BLOCK_BYTES;
      const target = Math.max(0, Math.min(wantedReserveBytes, share));
      let reserveBytes = 0;
      if (target > 0) {
        reserveFd = createExclusive(`${path}.reserve`);
        reserveBytes = fillReserve(reserveFd, target);
      }
      return new SessionFiles(path, partialName, fd, partialId, reserveBytes, reserveFd);
    } catch (e) {
      closeSync(fd);
      unlinkIfSame(partialName, partialId);
      if (reserveFd !== undefined) {
        const id = idOf(reserveFd);
        closeSync(reserveFd);
        unlinkIfSame(`${path}.reserve`, id);
      }
      throw e;
    }
  }

  /** The descriptor of the partial file (it changes when a deleted partial is restored). */
  get partialFd(): number {
    return this.fd;
  }

  /** The name the partial file has now. */
  get partialPath(): string {
    return this.partialName;
  }

  /** Frees the reserve's space (truncating it through its descriptor); returns whether there was any. */
  releaseReserve(): boolean {
    if (this.reserveFd === undefined) return false;
    const had = fstatSync(this.reserveFd).size > 0;
    ftruncateSync(this.reserveFd, 0);
    return had;
  }

  /** Bytes an unprivileged writer may still use on the session's filesystem (Infinity when unknown). */
  freeBytes(): number {
    return freeBytes(dirname(this.path)) ?? Number.POSITIVE_INFINITY;
  }

  /** True once no name links to the partial any more: another process deleted it. */
  isUnlinked(): boolean {
    return fstatSync(this.fd).nlink === 0;
  }

  /**
   * After another process deleted the partial: copies its first `bytes` bytes, from the descriptor
   * still open, into a new file at the partial's name (or PATH.restored-XXXX.partial when that name
   * was taken meanwhile), synced, and writes continue there. A deleted file cannot be linked back
   * (linkat gives ENOENT for an inode with no links), so a copy is the way to keep it. Returns the
   * old descriptor, for the caller to close once no sync uses it. Throws UserError when no new file
   * can be made or the copy does not fit; the old descriptor then stays in use.
   */
  restore(bytes: number): { restored: Restored; oldFd: number } {
    let name = `${this.path}.partial`;
    let fd: number;
    try {
      fd = createExclusive(name);
    } catch {
      name = `${this.path}.restored-${randomBytes(4).toString("hex")}.partial`;
      fd = createExclusive(name);
    }
    try {
      copyPrefix(this.fd, fd, bytes);
      fdatasyncSync(fd);
      syncDirectory(name);
    } catch (e) {
      const id = idOf(fd);
      closeSync(fd);
      unlinkIfSame(name, id);
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(
        `cannot restore the deleted ${this.partialName}: ${code ?? (e as Error).message}`,
        code === "ENOSPC" ? "disk-full" : "io-failed",
      );
    }
    const oldFd = this.fd;
    this.fd = fd;
    this.partialId = idOf(fd);
    this.partialName = name;
    return { restored: { partialPath: name, bytes }, oldFd };
  }

  /**
   * Gives the finished partial its final name: a hard link from the descriptor (linkat of
   * /proc/self/fd/N with AT_SYMLINK_FOLLOW links exactly the file written, whatever now sits at the
   * partial's name; like link(2) it fails on an existing PATH, never following or replacing it), then
   * the partial's name goes and the directory is synced. A partial deleted since the last check is
   * copied into a new PATH instead. Throws UserError when PATH appeared meanwhile; the sealed
   * session then stays at the partial's name.
   */
  publish(bytes: number): void {
    if (this.isUnlinked()) {
      const fd = createExclusive(this.path);
      const id = idOf(fd);
      try {
        copyPrefix(this.fd, fd, bytes);
        fsyncSync(fd);
      } catch (e) {
        closeSync(fd);
        unlinkIfSame(this.path, id);
        const code = (e as NodeJS.ErrnoException).code;
        throw new UserError(
          `${this.partialName} was deleted by another process and could not be saved as ${this.path}: ${code ?? (e as Error).message}`,
          code === "ENOSPC" ? "disk-full" : "io-failed",
        );
      }
      closeSync(fd);
      syncDirectory(this.path);
      return;
    }
    const errno = linkFromFd(this.fd, this.path);
    if (errno === osConstants.errno.EEXIST) {
      throw this.appeared();
    }
    if (errno !== 0) {
      // No /proc, or no libc binding: link(2) by name, which never follows or replaces either, once
      // the name is checked to still be this file.
      if (!isSame(this.partialName, this.partialId))
        throw new UserError(
          `${this.partialName} was replaced while recording; the sealed session could not be named ${this.path}`,
          "io-failed",
        );
      try {
        linkSync(this.partialName, this.path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw this.appeared();
        throw e;
      }
    }
    unlinkIfSame(this.partialName, this.partialId);
    syncDirectory(this.path);
  }

  private appeared(): UserError {
    return new UserError(
      `${this.path} appeared while recording (${describePath(this.path) ?? "a file"}); the sealed session stays at ${this.partialName}`,
      "bad-input",
    );
  }

  /** Closes the partial's descriptor and removes the reserve. The partial's name is left as it is. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    this.closeReserve();
  }

  /** Closes both and removes both names, for a recording that never started; nothing once closed. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    unlinkIfSame(this.partialName, this.partialId);
    this.closeReserve();
  }

  private closeReserve(): void {
    if (this.reserveFd === undefined) return;
    closeSync(this.reserveFd);
    this.reserveFd = undefined;
    unlinkIfSame(`${this.path}.reserve`, this.reserveId!);
  }
}

/** linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, dest, AT_SYMLINK_FOLLOW); returns 0 or the errno. */
function linkFromFd(fd: number, dest: string): number {
  try {
    const rc = libc().linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, dest, AT_SYMLINK_FOLLOW);
    return rc === 0 ? 0 : lastErrno();
  } catch {
    // libc.so.6 could not be bound: the caller falls back to link(2).
    return osConstants.errno.ENOSYS;
  }
}

function idOf(fd: number): FileId {
  const s = fstatSync(fd);
  return { dev: s.dev, ino: s.ino };
}

function isSame(path: string, id: FileId): boolean {
  try {
    const s = lstatSync(path);
    return s.dev === id.dev && s.ino === id.ino;
  } catch {
    return false;
  }
}

/** Removes `path` only while it is still the file we made: never someone else's file put in its place. */
function unlinkIfSame(path: string, id: FileId): void {
  if (!isSame(path, id)) return;
  try {
    unlinkSync(path);
  } catch {
    // Gone between the check and the unlink: nothing of ours is left to remove.
  }
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Writes up to `target` random bytes (so no filesystem compresses them away); on a full disk keeps what fit. */
function fillReserve(fd: number, target: number): number {
  let done = 0;
  while (done < target) {
    const chunk = randomBytes(Math.min(64 * 1024, target - done));
    try {
      done += writeSync(fd, chunk, 0, chunk.length, done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      ftruncateSync(fd, done);
      break;
    }
  }
  return done;
}

function copyPrefix(from: number, to: number, bytes: number): void {
  const buf = Buffer.alloc(Math.min(COPY_CHUNK_BYTES, Math.max(1, bytes)));
  let at = 0;
  while (at < bytes) {
    const n = readSync(from, buf, 0, Math.min(buf.length, bytes - at), at);
    if (n === 0) throw new Error(`the partial file ended at ${at} of ${bytes} bytes`);
    let w = 0;
    while (w < n) w += writeSync(to, buf, w, n - w, at + w);
    at += n;
  }
}

/** Makes a new name durable: without it a crash can lose the link. */
export function syncDirectory(path: string): void {
  const fd = openSync(dirname(path), "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
