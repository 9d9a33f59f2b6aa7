// A rule file with one rule of each kind hunt cannot evaluate: each is listed with its reason and place,
// a YAML error names file:line:col, and the evaluable rules around them still compile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { loadRuleSet } from "../../src/hunt/ruleset.js";

const FILE = join(ROOT, "fixtures/hunt/unsupported.yml");

test("each unsupported kind is not evaluated, with its reason; the others run", () => {
  const set = loadRuleSet([FILE], "informational");
  const why = new Map(set.notEvaluated.map((n) => [n.title ?? `@${n.line}`, n]));
  const expect: Array<[string, RegExp]> = [
    ["unknown modifier", /unknown modifier "sortof"/],
    ["unsupported modifier (utf16le)", /modifier "utf16le" is not supported/],
    ["aggregation", /aggregation "\| count\(DestinationIp\) by Image > 100"/],
    ["unknown field", /field "Hashes" is not recorded/],
    ["unrecorded logsource category", /category "dns_query" is not recorded/],
    ["unrecorded logsource service", /service "auditd" is not recorded/],
    ["another product", /product "windows" is not recorded/],
    ["near", /"near" needs event correlation/],
    ["placeholder", /modifier "expand" is not supported/],
  ];
  for (const [title, re] of expect) {
    const n = why.get(title);
    assert.ok(n, `${title} is listed as not evaluated`);
    assert.match(n.reason, re, title);
    assert.equal(n.file, FILE);
  }
  assert.equal(why.get("unknown modifier")!.line, 8, "the place of the offending item");
  const yamlError = set.notEvaluated.find((n) => /YAML syntax/.test(n.reason));
  assert.ok(yamlError, "the broken YAML document is listed");
  assert.equal(yamlError.line, 98, "the unclosed flow sequence is found where the document ends");
  assert.ok(yamlError.col >= 1);
  assert.equal(set.notEvaluated.length, expect.length + 1);
  assert.deepEqual(set.rules.map((r) => r.title).sort(), ["after the broken one", "evaluable neighbour"]);
});
