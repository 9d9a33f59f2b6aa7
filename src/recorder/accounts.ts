// The host's user and group names (/etc/passwd, /etc/group) sealed at record start, so replay can name
// the uids it shows. The files may be the attacker's: lines are parsed defensively and bounded.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { AccountEntry, AccountFile, UsersRecord } from "../session/records.js";

/** Bigger files are sealed by hash and size only: a real passwd file is a few KiB. */
export const ACCOUNTS_MAX_FILE_BYTES = 4 << 20;
export const ACCOUNTS_MAX_ENTRIES = 50000;
/** Longer names are skipped as malformed: useradd allows 32 characters. */
export const ACCOUNTS_MAX_NAME = 64;

const ID = /^(?:0|[1-9][0-9]{0,9})$/;
/** A name replay may print: no control characters or bidi overrides (useradd allows far less). */
const NAME = /^[^\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+$/;

/**
 * Parses passwd(5) or group(5) text: `name:x:id:…` per line. Lines without a valid name or a decimal id
 * below 2^32 are counted in `skipped`; NIS `+`/`-` lines and comments are skipped silently. Never throws.
 */
export function parseAccounts(text: string): { entries: AccountEntry[]; skipped: number; truncated: boolean } {
  const entries: AccountEntry[] = [];
  let skipped = 0;
  let truncated = false;
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    if (entries.length >= ACCOUNTS_MAX_ENTRIES) {
      truncated = true;
      break;
    }
    const f = line.split(":", 4);
    const name = f[0] ?? "";
    const id = f[2] ?? "";
    if (
      f.length < 3 ||
      name.length === 0 ||
      name.length > ACCOUNTS_MAX_NAME ||
      !NAME.test(name) ||
      !ID.test(id) ||
      Number(id) > 0xffffffff
    ) {
      skipped++;
      continue;
    }
    entries.push({ id: Number(id), name });
  }
  return { entries, skipped, truncated };
}

/** Reads, hashes and parses one account file. A missing or unreadable file is recorded with its error. */
export function readAccountFile(path: string): AccountFile {
  let fd: number | undefined;
  try {
    // Non-blocking, and a regular file only: a planted FIFO or device must not hang the recorder.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error("not a regular file"), { code: "ENOTREG" });
    const hash = createHash("sha256");
    // Hashes the whole file, keeps at most ACCOUNTS_MAX_FILE_BYTES of it to parse.
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let bytes = 0;
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      bytes += n;
      if (keptBytes < ACCOUNTS_MAX_FILE_BYTES) {
        const take = Math.min(n, ACCOUNTS_MAX_FILE_BYTES - keptBytes);
        kept.push(Buffer.from(buf.subarray(0, take)));
        keptBytes += take;
      }
    }
    const parsed = parseAccounts(Buffer.concat(kept).toString("utf8"));
    return {
      path,
      sha256: hash.digest("hex"),
      bytes,
      entries: parsed.entries,
      skipped: parsed.skipped,
      truncated: parsed.truncated || bytes > keptBytes,
    };
  } catch (e) {
    return {
      path,
      bytes: 0,
      entries: [],
      skipped: 0,
      truncated: false,
      error: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
    };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function snapshotAccounts(t: bigint, root = "/etc"): UsersRecord {
  return { k: "users", t, passwd: readAccountFile(`${root}/passwd`), group: readAccountFile(`${root}/group`) };
}
