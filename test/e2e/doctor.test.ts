// `sealtrace doctor` as root on this machine: the whole table, every row ok, exit 0. (On an older
// kernel that refuses a bundle this fails, naming the row: test/kernels runs it on 5.10, 6.1, 6.12.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { BUNDLES } from "../../src/bundles/registry.js";
import { cliSync } from "../helpers/cli.js";
import { assertNoProbes } from "../helpers/bpf.js";

test("doctor as root: exit 0, a row per check (a trial load of every bundle, then all together), each ok", async () => {
  const r = cliSync(["doctor"]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, "");
  const rows = new Map(
    r.stdout
      .trimEnd()
      .split("\n")
      .map((line) => {
        const m = /^(ok|degraded|note|MISSING)\s{2,}(.+?)\s{2,}(.*)$/.exec(line);
        assert.ok(m, `not a doctor row: '${line}'`);
        return [m[2]!, { status: m[1]!, detail: m[3]! }] as const;
      }),
  );
  const expected = [
    "privileges",
    "kernel",
    "BTF",
    "libbpf",
    "tracefs",
    "bpffs",
    ...[...BUNDLES.keys()].map((b) => `bundle ${b}`),
    "together",
  ];
  assert.deepEqual([...rows.keys()], expected);
  // bpffs is advisory (sealtrace pins nothing): `note` when it is not mounted. Every other row is ok.
  for (const [name, row] of rows) {
    if (name === "bpffs") assert.match(row.status, /^(ok|note)$/, `${name}: ${row.detail}`);
    else assert.equal(row.status, "ok", `${name}: ${row.detail}`);
  }
  for (const b of BUNDLES.values()) {
    const n = b.tracepoints.length;
    assert.equal(
      rows.get(`bundle ${b.name}`)!.detail,
      `loaded, attached, started (${n} tracepoint${n > 1 ? "s" : ""})`,
    );
  }
  assert.equal(rows.get("together")!.detail, `loaded, attached, started (${[...BUNDLES.keys()].join(" + ")})`);
  assert.match(rows.get("privileges")!.detail, /^uid 0, CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN$/);
  // The trial load leaves nothing behind.
  await assertNoProbes();
});
