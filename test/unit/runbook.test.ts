// Runbooks: the shipped ones are valid; each malformed one gives file:line:col, the rule, exit 2, no stack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { listRunbooks } from "../../src/runbook/catalog.js";
import { parseRunbook, loadRunbook, RunbookError, BUNDLE_NAMES } from "../../src/runbook/runbook.js";
import { compiledSource, compiledPath } from "../../src/runbook/compile.js";
import { parseDurationMs, parseSizeBytes } from "../../src/runbook/units.js";
import { ROOT } from "../helpers/bpf.js";

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const BAD = join(ROOT, "fixtures", "runbooks", "bad");

test("the shipped runbooks parse, and include the five the on-call guide names", () => {
  const names = listRunbooks().map((r) => r.name);
  for (const n of ["triage", "suspicious-process", "network-latency", "exfiltration", "connection-storm"])
    assert.ok(names.includes(n), n);
  const triage = listRunbooks().find((r) => r.name === "triage")!;
  assert.deepEqual([...triage.bundles].sort(), [...BUNDLE_NAMES].sort());
  assert.equal(triage.durationMs, 60_000);
  for (const r of listRunbooks())
    assert.match(r.source.text, /^# /, `${r.name} opens with a comment saying when to use it`);
});

test("src/runbook/compiled.ts is current with runbooks/*.yaml (else: npm run build:runbooks)", () => {
  assert.equal(readFileSync(compiledPath(), "utf8"), compiledSource());
});

test("a shipped runbook loads from compiled.ts exactly as the YAML parser reads it; an edited one is parsed again", () => {
  const dir = join(ROOT, "runbooks");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const path = join(dir, f);
    const parsed = parseRunbook(readFileSync(path, "utf8"), path);
    assert.deepEqual(loadRunbook(path), JSON.parse(JSON.stringify(parsed)), f);
  }
  const text = readFileSync(join(dir, "triage.yaml"), "utf8").replace(/^duration: .*$/m, "duration: 7s");
  assert.notEqual(text, readFileSync(join(dir, "triage.yaml"), "utf8"));
  assert.equal(parseRunbook(text, "edited.yaml").durationMs, 7000);
});

test("runbooks/schema.json names exactly the keys the parser accepts", () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "runbooks", "schema.json"), "utf8")) as {
    properties: Record<string, { properties?: Record<string, unknown> }>;
  };
  assert.deepEqual(Object.keys(schema.properties).sort(), [
    "bundles",
    "description",
    "duration",
    "filters",
    "flushInterval",
    "limits",
    "name",
    "prompts",
    "recipients",
    "redact",
    "signingKey",
    "snapshotInterval",
  ]);
  assert.deepEqual(Object.keys(schema.properties.filters!.properties!).sort(), [
    "addresses",
    "allFileTypes",
    "cgroup",
    "comm",
    "pid",
    "ports",
    "uid",
  ]);
  for (const r of listRunbooks()) {
    for (const k of Object.keys(JSON.parse(JSON.stringify(require_yaml(r.source.text)))))
      assert.ok(k in schema.properties, `${r.name}: ${k}`);
  }
});

import { parse as parseYaml } from "yaml";
function require_yaml(text: string): Record<string, unknown> {
  return parseYaml(text) as Record<string, unknown>;
}

const bad = readdirSync(BAD)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("at least 20 malformed runbooks are in fixtures", () => assert.ok(bad.length >= 20));

for (const f of bad) {
  test(`bad runbook ${f}: file:line:col and the rule, exit 2, no stack trace`, () => {
    const path = join(BAD, f);
    assert.throws(
      () => parseRunbook(readFileSync(path, "utf8"), path),
      (e: unknown) => e instanceof RunbookError && new RegExp(`^${path}:\\d+:\\d+: `).test(e.message),
    );
    const r = spawnSync(process.execPath, [CLI, "runbooks", "validate", path], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^sealtrace: ${path.replace(/[.]/g, "\\.")}:\\d+:\\d+: .+\\n$`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
}

test("error positions point at the offending node", () => {
  const text = "name: x\ndescription: d\nbundles: [exec, kprobe]\nduration: 10s\n";
  assert.throws(() => parseRunbook(text, "r.yaml"), /^UserError: r\.yaml:3:17: unknown bundle/);
  const t2 = "name: x\ndescription: d\nbundles: [exec]\nduration: 10s\nfilters:\n  ports: [80, 70000]\n";
  assert.throws(() => parseRunbook(t2, "r.yaml"), /r\.yaml:6:15: 'filters.ports\[\]' must be an integer/);
});

test("limits.maxHashFileSize: a size from 0 to 64GiB, absent by default (the recorder then uses 256 MiB)", () => {
  const rb = (v: string) =>
    `name: x\ndescription: d\nbundles: [exec]\nduration: 10s\nlimits:\n  maxHashFileSize: ${v}\n`;
  assert.equal(parseRunbook(rb("1MiB"), "r.yaml").limits.maxHashFileBytes, 1024 ** 2);
  assert.equal(parseRunbook(rb("0"), "r.yaml").limits.maxHashFileBytes, 0);
  assert.equal(
    parseRunbook("name: x\ndescription: d\nbundles: [exec]\nduration: 10s\n", "r.yaml").limits.maxHashFileBytes,
    undefined,
  );
  assert.throws(() => parseRunbook(rb("65GiB"), "r.yaml"), /r\.yaml:6:20: 'limits.maxHashFileSize' must be a size/);
  assert.throws(() => parseRunbook(rb("huge"), "r.yaml"), /'limits.maxHashFileSize' must be a size/);
});

test("durations and sizes", () => {
  assert.equal(parseDurationMs("10s"), 10_000);
  assert.equal(parseDurationMs("1m30s"), 90_000);
  assert.equal(parseDurationMs("250ms"), 250);
  assert.equal(parseDurationMs("2h"), 7_200_000);
  assert.equal(parseDurationMs(5), 5000);
  assert.equal(parseDurationMs("ten"), undefined);
  assert.equal(parseDurationMs("10s garbage"), undefined);
  assert.equal(parseSizeBytes("1GiB"), 1024 ** 3);
  assert.equal(parseSizeBytes("512MiB"), 512 * 1024 ** 2);
  assert.equal(parseSizeBytes("2GB"), 2e9);
  assert.equal(parseSizeBytes("lots"), undefined);
});
