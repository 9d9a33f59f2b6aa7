// A full disk (a 1 MiB tmpfs) ends recording with UserError(diskFull) and a SEALED file holding what fit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmdirSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionWriter } from "../../src/session/writer.js";
import { readSession } from "../../src/session/reader.js";
import { verifySession } from "../../src/session/verify.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";
import { normalize, testKey } from "../unit/session-helpers.js";

const isRoot = process.getuid?.() === 0;

test(
  "ENOSPC: the writer frees its reserve, seals what fit, and reports disk full",
  { skip: isRoot ? false : "mounting a tmpfs needs root" },
  async () => {
    const key = await testKey();
    const mountPoint = mkdtempSync(join(tmpdir(), "sealtrace-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]);
    try {
      const path = join(mountPoint, "full.sealtrace");
      const writer = await SessionWriter.create(path, {
        recipients: [key.recipient],
        metadata: { m: 1 },
        flushBytes: 32 * 1024,
        flushIntervalMs: 3_600_000,
      });
      assert.ok(existsSync(path + ".reserve"));
      const appended: Uint8Array[] = [];
      let failure: unknown;
      try {
        // Incompressible blobs, so zstd cannot stretch the space.
        for (let i = 0; i < 10_000; i++) {
          const blob = randomBytes(1024);
          // Pushed first: the append that hits the full disk may still get its record sealed.
          appended.push(blob);
          writer.append(blob);
        }
        await writer.close({ endReason: "not expected" });
      } catch (e) {
        failure = e;
      }
      assert.ok(
        failure instanceof UserError && exitCodeOf(failure) === EXIT.diskFull,
        `expected a disk-full UserError, got ${String(failure)}`,
      );
      assert.match((failure as UserError).message, /^disk full: sealed \d+ frames/);
      assert.ok(!existsSync(path + ".partial") && !existsSync(path + ".reserve"));
      assert.throws(
        () => writer.append({ late: true }),
        (e: unknown) => e instanceof UserError && exitCodeOf(e) === EXIT.diskFull,
      );

      assert.equal((await verifySession(path)).verdict.status, "SEALED");
      const got = await readSession(path, { identities: [key.identity] });
      assert.equal(got.verdict.status, "SEALED");
      assert.ok(got.records.length > 500, `only ${got.records.length} records fit`);
      const digest = (blobs: unknown[]) =>
        createHash("sha256")
          .update(JSON.stringify(normalize(blobs)))
          .digest("hex");
      assert.equal(
        digest(got.records),
        digest(appended.slice(0, got.records.length)),
        "recovered records are exactly the first ones appended",
      );
      assert.deepEqual(got.finale?.summary, { endReason: "disk-full" });
      assert.equal(got.finale?.writer.diskFull, true);
    } finally {
      execFileSync("umount", [mountPoint]);
      rmdirSync(mountPoint);
    }
  },
);
