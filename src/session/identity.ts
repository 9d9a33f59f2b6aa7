// age identity files (as age-keygen and `sealtrace keygen` write them): parse and read.
import { readFile, stat } from "node:fs/promises";
import { UserError } from "../errors.js";

/**
 * Returns the `AGE-SECRET-KEY-…` lines of an identity file; `#` comments and blank lines are skipped.
 * Throws UserError(wrong-key) if any other line is present or no key is found, naming `source`.
 */
export function parseIdentities(text: string, source = "identity file"): string[] {
  const keys: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!line.startsWith("AGE-SECRET-KEY-"))
      throw new UserError(`${source}:${i + 1}: not an age identity (expected AGE-SECRET-KEY-1…)`, "wrong-key");
    keys.push(line);
  }
  if (keys.length === 0) throw new UserError(`${source}: no AGE-SECRET-KEY-1… line found`, "wrong-key");
  return keys;
}

/** Far above a file of a few hundred keys (~75 bytes each). */
const MAX_IDENTITY_FILE_BYTES = 1024 * 1024;

/** Reads and parses an identity file. Throws UserError(wrong-key) if it cannot be read or holds no key. */
export async function readIdentityFile(path: string): Promise<string[]> {
  let text: string;
  try {
    // stat first: reading a FIFO would wait for a writer forever, and a huge file is not an identity.
    const st = await stat(path);
    if (!st.isFile()) throw new UserError(`identity file ${path} is not a regular file`, "wrong-key");
    if (st.size > MAX_IDENTITY_FILE_BYTES)
      throw new UserError(
        `identity file ${path} is ${st.size} bytes, more than an identity file holds (${MAX_IDENTITY_FILE_BYTES})`,
        "wrong-key",
      );
    text = await readFile(path, "utf8");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot read identity file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "wrong-key",
    );
  }
  return parseIdentities(text, path);
}
