// One age-recipient form for -r, -R files, $SEALTRACE_RECIPIENTS, the runbook, the prompt and the
// runbook schema; and the order record takes recipients in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGE_RECIPIENT, isAgeRecipient } from "../../src/session/recipient.js";
import { parseRecipientsFile, resolveRecipients } from "../../src/cli/recipients.js";
import { parseRunbook } from "../../src/runbook/runbook.js";
import { UserError } from "../../src/errors.js";
import { ROOT } from "../helpers/bpf.js";
import { tempDir, testKey } from "./session-helpers.js";

test("isAgeRecipient: what age-encryption generates, and nothing a character off", async () => {
  for (let i = 0; i < 8; i++) assert.ok(isAgeRecipient((await testKey()).recipient));
  const good = (await testKey()).recipient;
  const bad = [
    good.slice(0, -1),
    `${good}q`,
    `age2${good.slice(4)}`,
    `${good.slice(0, 10)}b${good.slice(11)}`, // 'b' is not in bech32's alphabet
    good.toUpperCase(),
    ` ${good}`,
    `${good}\n`,
    "",
  ];
  for (const s of bad) assert.equal(isAgeRecipient(s), false, JSON.stringify(s));
});

test("runbooks/schema.json's recipient pattern is the parser's", () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "runbooks", "schema.json"), "utf8")) as {
    properties: { recipients: { items: { pattern: string } } };
  };
  assert.equal(schema.properties.recipients.items.pattern, AGE_RECIPIENT.source);
});

test("the runbook refuses a recipient that is not one, at its line and column", async () => {
  const good = (await testKey()).recipient;
  const runbook = (r: string) => `name: t\ndescription: d\nbundles: [exec]\nduration: 10s\nrecipients:\n  - ${r}\n`;
  assert.deepEqual(parseRunbook(runbook(good), "r.yaml").recipients, [good]);
  assert.throws(
    () => parseRunbook(runbook(good.slice(0, -1)), "r.yaml"),
    /^UserError: r\.yaml:6:5: a recipient is an age public key/,
  );
});

test("recipients files: comments and blank lines skipped, a bad line named by file:line", async () => {
  const [a, b] = [(await testKey()).recipient, (await testKey()).recipient];
  assert.deepEqual(parseRecipientsFile(`# team\n\n${a}\n  ${b}  \n`, "f"), [a, b]);
  assert.throws(
    () => parseRecipientsFile(`${a}\nage1nope\n`, "team.txt"),
    (e: unknown) => e instanceof UserError && e.kind === "bad-input" && e.message.startsWith("team.txt:2: "),
  );
});

test("resolveRecipients: flags and files first (deduplicated), then the runbook, then $SEALTRACE_RECIPIENTS", async () => {
  const [a, b, c] = [(await testKey()).recipient, (await testKey()).recipient, (await testKey()).recipient];
  const { dir, cleanup } = tempDir("recipients");
  const saved = process.env.SEALTRACE_RECIPIENTS;
  try {
    const file = join(dir, "r.txt");
    writeFileSync(file, `${b}\n${a}\n`);
    process.env.SEALTRACE_RECIPIENTS = `${c}, ${a}`;
    assert.deepEqual(resolveRecipients({ flags: [a], files: [file], runbook: [c] }), {
      recipients: [a, b],
      source: "flags",
    });
    assert.deepEqual(resolveRecipients({ flags: [], files: [], runbook: [c] }), { recipients: [c], source: "runbook" });
    assert.deepEqual(resolveRecipients({ flags: [], files: [], runbook: [] }), {
      recipients: [c, a],
      source: "SEALTRACE_RECIPIENTS",
    });
    process.env.SEALTRACE_RECIPIENTS = "age1short";
    assert.throws(
      () => resolveRecipients({ flags: [], files: [], runbook: [] }),
      /^UserError: SEALTRACE_RECIPIENTS: 'age1short' is not an age recipient/,
    );
    assert.throws(
      () => resolveRecipients({ flags: ["x"], files: [], runbook: [] }),
      (e: unknown) => e instanceof UserError && e.message.startsWith("-r: 'x' is not an age recipient"),
    );
    assert.throws(
      () => resolveRecipients({ flags: [], files: [join(dir, "absent")], runbook: [] }),
      (e: unknown) => e instanceof UserError && e.message === `recipients file ${join(dir, "absent")} does not exist`,
    );
  } finally {
    if (saved === undefined) delete process.env.SEALTRACE_RECIPIENTS;
    else process.env.SEALTRACE_RECIPIENTS = saved;
    cleanup();
  }
});
