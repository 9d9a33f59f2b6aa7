// Every condition form over hand-built events: and, or, not, parentheses, `1 of x*`, `all of x*`,
// `1 of them`, `all of them`, N of, and a list of conditions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, reason, rule } from "./hunt-helpers.js";

const SELS = "a:\n  Image|endswith: /a\nb:\n  CommandLine|contains: bee\nsel_c:\n  User: '0'\nsel_d:\n  Comm: dee\n";

function truth(condition: string, fields: Record<string, string>): boolean {
  return rule(`${SELS}condition: ${condition}`).test(ev(fields));
}

const A = { Image: "/x/a" };
const AB = { Image: "/x/a", CommandLine: "bee" };
const C = { User: "0" };
const CD = { User: "0", Comm: "dee" };
const ALL = { Image: "/x/a", CommandLine: "bee", User: "0", Comm: "dee" };

test("and", () => {
  assert.equal(truth("a and b", AB), true);
  assert.equal(truth("a and b", A), false);
});

test("or", () => {
  assert.equal(truth("a or b", A), true);
  assert.equal(truth("a or b", C), false);
});

test("not", () => {
  assert.equal(truth("a and not b", A), true);
  assert.equal(truth("a and not b", AB), false);
  assert.equal(truth("not not a", A), true);
});

test("precedence: not binds tighter than and, and tighter than or", () => {
  // a or (b and sel_c), not (a or b) and sel_c
  assert.equal(truth("a or b and sel_c", A), true);
  assert.equal(truth("sel_c or a and b", A), false);
  assert.equal(truth("not a or b", { CommandLine: "bee", Image: "/x/a" }), true);
  assert.equal(truth("not a and b", AB), false);
});

test("parentheses", () => {
  assert.equal(truth("(a or b) and sel_c", { Image: "/x/a", User: "0" }), true);
  assert.equal(truth("(a or b) and sel_c", A), false);
  assert.equal(truth("a and (b or (sel_c and sel_d))", { Image: "/x/a", User: "0", Comm: "dee" }), true);
  assert.equal(truth("a and (b or (sel_c and sel_d))", { Image: "/x/a", User: "0" }), false);
  assert.equal(truth("not (a or b)", C), true);
  assert.equal(truth("not (a or b)", A), false);
});

test("1 of sel* and all of sel*", () => {
  assert.equal(truth("1 of sel_*", C), true);
  assert.equal(truth("1 of sel_*", AB), false);
  assert.equal(truth("all of sel_*", CD), true);
  assert.equal(truth("all of sel_*", C), false);
});

test("1 of them and all of them", () => {
  assert.equal(truth("1 of them", { Comm: "dee" }), true);
  assert.equal(truth("1 of them", { Comm: "x" }), false);
  assert.equal(truth("all of them", ALL), true);
  assert.equal(truth("all of them", CD), false);
});

test("them leaves out identifiers starting with _", () => {
  const r = rule("sel:\n  Image: /a\n_helper:\n  Comm: x\ncondition: all of them");
  assert.equal(r.test(ev({ Image: "/a" })), true);
});

test("N of: at least N identifiers", () => {
  assert.equal(truth("2 of them", AB), true);
  assert.equal(truth("2 of them", A), false);
});

test("a list of conditions ORs them", () => {
  const r = rule(`${SELS}condition:\n  - a and b\n  - sel_c`);
  assert.equal(r.test(ev(C)), true);
  assert.equal(r.test(ev(AB)), true);
  assert.equal(r.test(ev(A)), false);
});

test("bad conditions are reasons, not crashes", () => {
  assert.match(reason(`${SELS}condition: a and`), /ends too early/);
  assert.match(reason(`${SELS}condition: (a or b`), /expected "\)"/);
  assert.match(reason(`${SELS}condition: a or nope`), /"nope".*not a search identifier/);
  assert.match(reason(`${SELS}condition: 1 of zz*`), /matches no search identifier/);
  assert.match(reason(`${SELS}condition: a b`), /unexpected "b"/);
});
