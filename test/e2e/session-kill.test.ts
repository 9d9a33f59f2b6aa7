// A writer killed with SIGKILL leaves a .partial that verify calls UNSEALED and that yields every record flushed over 1 s before the kill.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readSession } from "../../src/session/reader.js";
import { verifySession } from "../../src/session/verify.js";
import { tempDir, testKey } from "../unit/session-helpers.js";

const writerModule = fileURLToPath(new URL("../../src/session/writer.js", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

test("SIGKILL mid-stream: UNSEALED, and nothing older than the flush interval is lost", async (t) => {
  const { dir, cleanup } = tempDir("kill");
  const key = await testKey();
  const path = join(dir, "killed.sealtrace");
  // The child appends 25,000 records/s, each stamped with its wall-clock time, with the default 1 s flush.
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { SessionWriter } from ${JSON.stringify(writerModule)};
       const w = await SessionWriter.create(${JSON.stringify(path)}, { recipients: [${JSON.stringify(key.recipient)}], metadata: { child: true } });
       let seq = 0;
       process.stdout.write("ready\\n");
       setInterval(() => { for (let i = 0; i < 50; i++) w.append({ seq: seq++, tMs: Date.now() }); }, 2);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      child.on("exit", (code) => reject(new Error(`writer child exited early with ${code}`)));
    });
    await sleep(3500);
    const killAtMs = Date.now();
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("exit", resolve));

    const partial = path + ".partial";
    assert.equal((await verifySession(partial)).verdict.status, "UNSEALED");
    assert.equal(spawnSync(process.execPath, [cli, "verify", partial]).status, 5);

    const got = await readSession(partial, { identities: [key.identity] });
    assert.equal(got.verdict.status, "UNSEALED");
    const records = got.records as { seq: number; tMs: number }[];
    records.forEach((r, i) => assert.equal(r.seq, i, "records come back in order with no gap"));
    // The child stamps a record every few ms, so "every record older than 1 s is present" means the
    // newest recovered record is at most 1 s older than the kill.
    const newest = records.at(-1);
    assert.ok(newest, "some records were recovered");
    const lagMs = killAtMs - newest.tMs;
    t.diagnostic(`${records.length} records recovered; the newest was written ${lagMs} ms before the kill`);
    assert.ok(lagMs <= 1000, `newest recovered record is ${lagMs} ms older than the kill`);
  } finally {
    child.kill("SIGKILL");
    cleanup();
  }
});
