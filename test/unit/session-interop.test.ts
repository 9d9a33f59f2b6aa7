// age interop: keys from Debian's age-keygen seal and open sessions; our keys work with the age CLI.
// Needs the `age` package (age, age-keygen). Missing tools fail the test on purpose: CI must install them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSession, openSession } from "../../src/session/reader.js";
import { readIdentityFile } from "../../src/session/identity.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";
import { tempDir, writeSession } from "./session-helpers.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function run(cmd: string, args: string[], input?: Uint8Array): Buffer {
  try {
    return execFileSync(cmd, args, { input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      assert.fail(`${cmd} not found: install the Debian package "age" (apt-get install -y age)`);
    throw e;
  }
}

function recipientOf(keyFile: string): string {
  return run("age-keygen", ["-y", keyFile]).toString().trim();
}

test("sessions sealed to age-keygen recipients open with either identity; a third key gets 'no matching key'", async () => {
  const { dir, cleanup } = tempDir("interop");
  try {
    const [k1, k2, k3] = ["k1.txt", "k2.txt", "k3.txt"].map((n) => join(dir, n));
    for (const k of [k1!, k2!, k3!]) run("age-keygen", ["-o", k]);
    const path = await writeSession(join(dir, "s.sealtrace"), [[{ k: "exec", pid: 1 }], [{ k: "exec", pid: 2 }]], {
      recipients: [recipientOf(k1!), recipientOf(k2!)],
    });
    for (const k of [k1!, k2!]) {
      const got = await readSession(path, { identities: await readIdentityFile(k) });
      assert.equal(got.verdict.status, "SEALED");
      assert.deepEqual(got.records, [
        { k: "exec", pid: 1 },
        { k: "exec", pid: 2 },
      ]);
    }
    await assert.rejects(
      openSession(path, { identities: await readIdentityFile(k3!) }),
      (e: unknown) => e instanceof UserError && exitCodeOf(e) === EXIT.key && /no matching key/.test(e.message),
    );
    // The key envelope in the header is a plain age file: the age CLI opens it to the 32-byte file key.
    const bytes = readFileSync(path);
    const envelope = bytes.subarray(80, 80 + bytes.readUInt32LE(76));
    assert.equal(run("age", ["-d", "-i", k1!], envelope).length, 32);
  } finally {
    cleanup();
  }
});

test("keys from `sealtrace keygen` work with the age CLI in both directions", () => {
  const { dir, cleanup } = tempDir("interop2");
  try {
    const key = join(dir, "ours.txt");
    const recipient = run(process.execPath, [cli, "keygen", "-o", key]).toString().trim();
    assert.match(recipient, /^age1[0-9a-z]+$/);
    assert.equal(recipientOf(key), recipient);
    const sealed = run("age", ["-r", recipient], Buffer.from("custody"));
    assert.equal(run("age", ["-d", "-i", key], sealed).toString(), "custody");
  } finally {
    cleanup();
  }
});
