// One exit-code table: the codes the CLI returns (EXIT), the table in --help and the README's agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { EXIT, EXIT_TABLE } from "../../src/cli/exit-codes.js";

test("EXIT, the --help table and the README table name the same codes", () => {
  const codes = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
  const help = [...EXIT_TABLE.matchAll(/^\s+(\d+)\s+\S/gm)].map((m) => Number(m[1]));
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("## Exit codes"),
    readme.indexOf("\n## ", readme.indexOf("## Exit codes") + 1),
  );
  const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  assert.deepEqual(help, codes);
  assert.deepEqual(documented, codes);
});
