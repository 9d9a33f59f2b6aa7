// The leftover-probe checks (test/run.mjs, and the e2e tests' assertNoProbes) recognise every program in bpf/*.bpf.c.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OUR_PROGRAM, ROOT } from "../helpers/bpf.js";

/** Program names in a BPF C source: the function after each SEC("...") other than maps and license. */
function programNames(source: string): string[] {
  return [...[...source.matchAll(/SEC\("([^"]+)"\)\s*\n\s*int\s+(?:BPF_PROG\()?(\w+)/g)].map((m) => m[2]!)];
}

const sources = readdirSync(join(ROOT, "bpf")).filter((f) => f.endsWith(".bpf.c"));
const names = sources.flatMap((f) => programNames(readFileSync(join(ROOT, "bpf", f), "utf8")));
// The kernel keeps BPF_OBJ_NAME_LEN - 1 = 15 characters of a program's name.
const kernelNames = names.map((n) => n.slice(0, 15));

test("bpf/*.bpf.c defines programs in every bundle (the parser below found them)", () => {
  for (const prefix of ["exec_", "connect_", "retransmit_", "filewrite_", "privilege_", "ringtest_"])
    assert.ok(
      names.some((n) => n.startsWith(prefix)),
      prefix,
    );
  assert.ok(names.length >= 15, `${names.length} programs`);
  assert.ok(names.includes("filewrite_exit") && names.includes("connect_exit"), "the syscall programs");
});

test("the e2e leftover-probe check (OUR_PROGRAM) matches every program name as the kernel shows it", () => {
  assert.deepEqual(
    kernelNames.filter((n) => !OUR_PROGRAM.test(n)),
    [],
  );
});

test("test/run.mjs's leftover-probe check matches every program name as the kernel shows it", () => {
  const literal = /const OURS = \/(.+)\/;/.exec(readFileSync(join(ROOT, "test", "run.mjs"), "utf8"))?.[1];
  assert.ok(literal, "test/run.mjs no longer defines `const OURS = /.../;`");
  const ours = new RegExp(literal);
  assert.deepEqual(
    kernelNames.filter((n) => !ours.test(n)),
    [],
  );
});
