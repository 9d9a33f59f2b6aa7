// doctor and record agree on whatever kernel this runs on (issue 14, acceptance 2): a bundle doctor
// refuses makes record exit 3 with doctor's very line and write nothing; a bundle doctor passes
// records and seals. On the host (6.18) every bundle passes; `npm run test:kernels` runs this file
// on Debian's 5.10, 6.1 and 6.12, where some were refused when it was written.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLES } from "../../src/bundles/registry.js";
import { cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { assertNoProbes } from "../helpers/bpf.js";

const dir = tempDir("sealtrace-kmatrix-agree-");
const key = makeKey(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

/** doctor's verdict per bundle row: "ok" or the stderr line it printed for that bundle. */
function doctorVerdicts(): { rows: Map<string, string>; lines: string[]; status: number | null } {
  const r = cliSync(["doctor"]);
  const lines = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("sealtrace: bundle "))
    .map((l) => l.slice("sealtrace: ".length));
  const rows = new Map<string, string>();
  for (const b of BUNDLES.keys()) {
    const row = new RegExp(`^(ok|degraded|MISSING)\\s+bundle ${b}\\s`, "m").exec(r.stdout);
    assert.ok(row, `doctor printed no row for bundle ${b}:\n${r.stdout}`);
    if (row[1] === "MISSING") {
      const line = lines.find((l) => l.startsWith(`bundle ${b}: `));
      assert.ok(line, `doctor marked ${b} MISSING without a line naming why:\n${r.stderr}`);
      rows.set(b, line);
    } else rows.set(b, "ok");
  }
  return { rows, lines, status: r.status };
}

function recordWith(bundles: string[], name: string) {
  const rb = join(dir, `${name}.yaml`);
  writeFileSync(
    rb,
    `name: ${name}\ndescription: doctor/record agreement\nbundles: [${bundles.join(", ")}]\nduration: 1s\nprompts:\n  incident: false\n`,
  );
  const out = join(dir, `${name}.sealed`);
  const r = cliSync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes", "--quiet"]);
  return { ...r, out };
}

test("doctor and record agree on every bundle, alone and all together: same verdict, same one line, exit 3, no file", async () => {
  const doctor = doctorVerdicts();
  const refused = [...doctor.rows].filter(([, v]) => v !== "ok");
  assert.equal(doctor.status, refused.length ? 3 : 0, `doctor exit code with ${refused.length} refused bundle(s)`);
  for (const [b, verdict] of doctor.rows) {
    const r = recordWith([b], `only-${b}`);
    if (verdict === "ok") {
      assert.equal(r.status, 0, `doctor passed ${b} but record failed:\n${r.stderr}`);
      assert.ok(existsSync(r.out));
    } else {
      assert.equal(r.status, 3, `doctor refused ${b} (${verdict}) but record exited ${r.status}:\n${r.stderr}`);
      assert.equal(r.stderr.split("\n")[0], `sealtrace: ${verdict}`, `record's line differs from doctor's for ${b}`);
      assert.ok(!existsSync(r.out) && !existsSync(`${r.out}.partial`), "a refused recording left a file");
    }
  }
  // All four, as triage loads them (shared maps, the connect→filewrite tail call): doctor's `together` row.
  const all = recordWith([...BUNDLES.keys()], "all");
  if (refused.length === 0)
    assert.equal(all.status, 0, `doctor passed every bundle but record of all four failed:\n${all.stderr}`);
  else {
    assert.equal(all.status, 3, all.stderr);
    assert.ok(
      doctor.lines.includes(all.stderr.split("\n")[0]!.replace(/^sealtrace: /, "")),
      `record's line is not one doctor printed:\n${all.stderr}\ndoctor:\n${doctor.lines.join("\n")}`,
    );
  }
  await assertNoProbes();
});
