// The installed `sealtrace` command (bin/sealtrace, what npm links into .bin): it finds the CLI through
// a symlink from any directory, and drops NODE_EXTRA_CA_CERTS, which Node 20 would parse before our
// first line runs (~80 ms of the time to attach probes on this machine).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { symlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { tempDir } from "../helpers/cli.js";
import { VERSION } from "../../src/version.js";

const CERT_WARNING = /extra certs/i;

test("bin/sealtrace runs the CLI through a symlink from another directory, without loading NODE_EXTRA_CA_CERTS", () => {
  const dir = tempDir();
  try {
    const link = join(dir, "sealtrace");
    symlinkSync(join(ROOT, "bin", "sealtrace"), link);
    // A bundle that cannot be loaded makes Node 20 warn at startup: proof that it was read.
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "no-such-bundle.pem") };
    const r = spawnSync(link, ["--version"], { encoding: "utf8", cwd: "/", env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
    assert.doesNotMatch(r.stderr, CERT_WARNING);
    // Control: the same node without the wrapper reads the bundle eagerly when it is Node < 22.
    const nodeMajor = Number(/^v(\d+)/.exec(spawnSync("node", ["--version"], { encoding: "utf8" }).stdout)?.[1]);
    const direct = spawnSync("node", [join(ROOT, "dist", "src", "cli", "main.js"), "--version"], {
      encoding: "utf8",
      cwd: "/",
      env,
    });
    assert.equal(direct.status, 0, direct.stderr);
    if (nodeMajor < 22) assert.match(direct.stderr, CERT_WARNING);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
