// Creating output files that never follow, clobber or block: the one way sealtrace makes a file it writes.
import { constants, lstatSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors.js";

// O_EXCL makes the kernel refuse anything already at the name (a file, a directory, a FIFO, a dangling
// or live symlink: with O_CREAT|O_EXCL a symlink is never followed, O_NOFOLLOW says so twice), so a
// planted name can neither redirect the write nor block the open (a FIFO is never opened).
const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_RDWR;

/** What is at `path`, in words ("a symbolic link", "a directory", …), or undefined when nothing is. Never follows a link. */
export function describePath(path: string): string | undefined {
  let s;
  try {
    s = lstatSync(path);
  } catch {
    return undefined;
  }
  if (s.isSymbolicLink()) return "a symbolic link";
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isBlockDevice() || s.isCharacterDevice()) return "a device";
  return "a file";
}

/**
 * Creates a new file at `path`, mode 0600, open for reading and writing; returns its descriptor.
 * Throws UserError(bad-input) naming what is in the way (a file, symlink, directory, FIFO…), a missing,
 * non-directory or read-only directory, or a permission problem; UserError(disk-full) when the
 * filesystem has no room even for the name.
 */
export function createExclusive(path: string): number {
  try {
    return openSync(path, CREATE_FLAGS, 0o600);
  } catch (e) {
    throw createError(path, e);
  }
}

/** The one-line error for a name already taken by `what` ("a symbolic link", …). */
export function existsError(path: string, what: string): UserError {
  return new UserError(
    `${path} already exists (${what}); sealtrace never overwrites or follows it: choose another name`,
    "bad-input",
  );
}

/** The one-line error for a failed create of `path`. */
export function createError(path: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  switch (code) {
    case "EEXIST":
    case "ELOOP":
    case "EISDIR":
      return existsError(path, describePath(path) ?? "a file");
    case "ENOENT":
      return new UserError(`cannot create ${path}: directory ${dir} does not exist`, "bad-input");
    case "ENOTDIR":
      return new UserError(`cannot create ${path}: ${dir} is not a directory`, "bad-input");
    case "EROFS":
      return new UserError(`cannot create ${path}: ${dir} is on a read-only filesystem`, "bad-input");
    case "EACCES":
    case "EPERM":
      return new UserError(`cannot create ${path}: no permission to write in ${dir}`, "bad-input");
    case "ENOSPC":
    case "EDQUOT":
      return new UserError(`disk full: no room to create ${path}`, "disk-full");
    default:
      return new UserError(`cannot create ${path}: ${code ?? (e as Error).message}`, "bad-input");
  }
}
