// `sealtrace hunt` as a user runs it, on the recorded replay fixture (no root): findings with the process
// and its parents, every format, --min-level, --fail-on's exit code, one-line usage errors, escaping.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { EXIT } from "../../src/cli/exit-codes.js";
import type { Report } from "../../src/hunt/report.js";

const CLI = join(ROOT, "dist/src/cli/main.js");
const SESSION = join(ROOT, "fixtures/replay/chain.sealed");
const KEY = join(ROOT, "fixtures/replay/test-identity.key");

const RULES = `title: "curl fetches a stage <script>alert(1)</script>\\e[31m"
id: 11111111-2222-4333-8444-555555555555
level: high
tags: [attack.command_and_control, attack.t1105]
logsource: {product: linux, category: process_creation}
detection:
  sel:
    Image|endswith: /curl
    CommandLine|contains: stage.sh
  condition: sel
---
title: refused beacon
id: 11111111-2222-4333-8444-555555555556
level: low
logsource: {product: linux, category: network_connection}
detection:
  sel:
    DestinationPort: 9
    Outcome: refused
  condition: sel
---
title: broken
level: high
logsource: {product: linux, category: process_creation}
detection:
  sel:
    Image|bogus: x
  condition: sel
`;

function hunt(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "hunt", SESSION, "-i", KEY, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "hunt19-cli-"));
const rules = join(dir, "rules.yml");
writeFileSync(rules, RULES);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("json: the finding names the rule, the process and its parent chain; the broken rule is listed", () => {
  const r = hunt(["--no-builtin", "--rules", rules, "--format", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const f = rep.findings.find((x) => x.rule.id === "11111111-2222-4333-8444-555555555555");
  assert.ok(f, "the curl rule fired");
  assert.equal(f.rule.level, "high");
  assert.deepEqual(f.rule.attack, ["attack.command_and_control", "attack.t1105"]);
  assert.equal(f.process?.image, "/usr/bin/curl");
  assert.ok(f.process?.startTime.endsWith("Z"));
  assert.ok(f.parents.length >= 2 && f.parents[0]!.image === "/usr/bin/dash", JSON.stringify(f.parents));
  assert.match(f.events[0]!.summary, /^exec curl .*stage\.sh/);
  assert.equal(f.events[0]!.fields.ParentImage, "/usr/bin/dash");
  const beacon = rep.findings.find((x) => x.rule.title === "refused beacon");
  assert.equal(beacon?.events[0]!.fields.DestinationPort, 9);
  assert.equal(beacon?.process?.image, "/usr/bin/curl", "the stage script had exec'd curl by then");
  assert.equal(rep.notEvaluated.length, 1);
  assert.match(rep.notEvaluated[0]!.reason, /unknown modifier "bogus"/);
  assert.equal(rep.notEvaluated[0]!.line, 27);
  // Ordered by level: high before low.
  assert.deepEqual(
    rep.findings.map((x) => x.rule.level),
    ["high", "low"],
  );
});

test("text: grouped by level, the parent chain, the replay hint, and escaped control characters", () => {
  const r = hunt(["--no-builtin", "--rules", rules]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.indexOf("\nHIGH\n") < r.stdout.indexOf("\nLOW\n"));
  assert.match(r.stdout, /parents sh \[\d+\] \/usr\/bin\/dash ← /);
  assert.match(r.stdout, /→ sealtrace replay .*chain\.sealed -i KEY --view tree --pid \d+/);
  assert.ok(!r.stdout.includes("\x1b"), "no raw escape byte reaches the terminal");
  assert.ok(r.stdout.includes("\\x1b[31m"), "it is shown escaped");
  assert.match(r.stdout, /Not evaluated \(1\):\n {2}.*rules\.yml:27:5 {2}broken: sel: unknown modifier "bogus"/);
});

test("--fail-on: exit 10 when a finding at that level or above exists, else 0", () => {
  assert.equal(
    hunt(["--no-builtin", "--rules", rules, "--fail-on", "high", "--format", "jsonl"]).status,
    EXIT.findings,
  );
  assert.equal(hunt(["--no-builtin", "--rules", rules, "--fail-on", "low", "--format", "jsonl"]).status, EXIT.findings);
  assert.equal(hunt(["--no-builtin", "--rules", rules, "--fail-on", "critical", "--format", "jsonl"]).status, 0);
});

test("--min-level drops lower rules; filters narrow the events", () => {
  const rep = JSON.parse(
    hunt(["--no-builtin", "--rules", rules, "--format", "json", "--min-level", "medium"]).stdout,
  ) as Report;
  assert.deepEqual(
    rep.findings.map((f) => f.rule.title.slice(0, 4)),
    ["curl"],
  );
  assert.equal(rep.rules.belowLevel, 1);
  const none = JSON.parse(
    hunt(["--no-builtin", "--rules", rules, "--format", "json", "--comm", "chmod"]).stdout,
  ) as Report;
  assert.deepEqual(none.findings, []);
});

test("jsonl and html", () => {
  const lines = hunt(["--no-builtin", "--rules", rules, "--format", "jsonl"])
    .stdout.trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string });
  assert.deepEqual(
    lines.map((l) => l.type),
    ["finding", "finding", "not_evaluated"],
  );
  const out = join(dir, "report.html");
  const r = hunt(["--no-builtin", "--rules", rules, "--format", "html", "-o", out]);
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, "utf8");
  assert.equal((html.match(/class="mark mark-finding"/g) ?? []).length, 2, "one mark per matched event, on its lane");
  assert.ok(!html.includes("<script>alert"), "the rule title is escaped");
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.match(html, /Content-Security-Policy/);
});

test("usage errors are one line and exit 2", () => {
  for (const args of [
    ["--no-builtin"],
    ["--rules", join(dir, "missing")],
    ["--format", "xml"],
    ["--fail-on", "severe"],
    ["--min-level", "x"],
  ]) {
    const r = hunt(args);
    assert.equal(r.status, EXIT.usage, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^sealtrace: /);
  }
});

test("the built-in pack loads, every rule compiles and none fires on the fixture's benign steps", () => {
  const r = hunt(["--format", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.rules.evaluated, 21);
  // The fixture predates the privilege bundle: its four rules are listed as not evaluated, with the reason.
  assert.deepEqual(
    rep.notEvaluated.map((n) => [n.file.endsWith("rules/privilege.yml"), n.reason]),
    Array(4).fill([
      true,
      "logsource category privilege needs the privilege bundle, which these sessions did not record",
    ]),
  );
  // chain.sealed: curl downloads stage.sh into /tmp, chmod 755 runs and the script is exec'd from /tmp.
  assert.deepEqual([...new Set(rep.findings.map((f) => f.rule.title))].sort(), [
    "Executable bit set on a file in a temporary directory",
    "Execution from a world-writable temporary directory",
  ]);
});
