// The built-in privilege rules (rules/privilege.yml) on hand-made `privilege` events: each fires on the move it
// names and not on the tools it excludes or on a failed call. The kernel module rule has no re-enactment on a
// host built without modules; test/e2e/privilege.test.ts fires the others on a real recording.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { compileRule } from "../../src/hunt/compile.js";
import { readRuleFile } from "../../src/hunt/load.js";
import type { CompiledRule } from "../../src/hunt/rule.js";
import type { FieldValue } from "../../src/hunt/event.js";
import { ROOT } from "../helpers/bpf.js";
import { ev } from "./hunt-helpers.js";

const { sources, broken } = readRuleFile(join(ROOT, "rules", "privilege.yml"));
const rules = sources.map(compileRule);
const byTitle = (t: string): CompiledRule => {
  const r = rules.find((x) => x.title === t);
  assert.ok(r && "test" in r, `${t} compiles`);
  return r;
};
const fires = (title: string, fields: Record<string, FieldValue | undefined>) =>
  byTitle(title).test(ev(fields, "privilege"));

test("rules/privilege.yml: four rules, all compile", () => {
  assert.deepEqual(broken, []);
  assert.equal(rules.filter((r) => "test" in r).length, 4);
});

test("root gained through a setuid-family call: fires, not for sudo, not without a gain", () => {
  const t = "Process became root through a setuid-family call";
  const e = { Image: "/tmp/x", Kind: "credentials", Escalation: "true", Syscall: "setuid" };
  assert.equal(fires(t, e), true);
  assert.equal(fires(t, { ...e, Image: "/usr/bin/sudo" }), false);
  assert.equal(fires(t, { ...e, Escalation: "false" }), false);
});

test("kernel module loaded: finit_module or init_module that succeeded", () => {
  const t = "Kernel module loaded";
  assert.equal(fires(t, { Syscall: "finit_module", Success: "true", ArgPath: "/tmp/rk.ko" }), true);
  assert.equal(fires(t, { Syscall: "init_module", Success: "true" }), true);
  assert.equal(fires(t, { Syscall: "finit_module", Success: "false" }), false);
  assert.equal(fires(t, { Syscall: "delete_module", Success: "true" }), false);
});

test("BPF program loaded outside the known tools: a program load, not a map, not bpftool", () => {
  const t = "BPF program loaded outside the known tools";
  const e = { Image: "/usr/bin/python3", Syscall: "bpf", ArgCmd: "BPF_PROG_LOAD", Success: "true" };
  assert.equal(fires(t, e), true);
  assert.equal(fires(t, { ...e, ArgCmd: "BPF_MAP_CREATE" }), false);
  assert.equal(fires(t, { ...e, Image: "/usr/sbin/bpftool" }), false);
});

test("ptrace attach: fires for a non-debugger, not for gdb or a refused attach", () => {
  const t = "Another process attached with ptrace";
  const e = { Image: "/tmp/inject", Syscall: "ptrace", Success: "true", ArgRequest: "PTRACE_ATTACH" };
  assert.equal(fires(t, e), true);
  assert.equal(fires(t, { ...e, Image: "/usr/bin/gdb" }), false);
  assert.equal(fires(t, { ...e, Success: "false" }), false);
});
