// Hostile text in every output: visible() for each class of dangerous code point, lossless kernel-byte
// decoding, every text view (plain and colour) free of raw control/bidi code points, JSON giving back the
// exact bytes, and HTML escaping it all.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { visible, visibleLength } from "../../src/replay/text/visible.js";
import { bytesOfText, isExactText, textOfBytes } from "../../src/replay/rawbytes.js";
import { argList, cText } from "../../src/replay/strings.js";
import { exactBytes } from "../../src/replay/exactjson.js";
import { render, VIEWS } from "../../src/replay/render.js";
import { processDetail } from "../../src/replay/focus.js";
import { fit, line, pad, red, terminalText, width } from "../../src/replay/text/style.js";
import type { Replay } from "../../src/replay/model.js";

/** Anything a terminal acts on or that reorders text, except the newline that ends our own lines. */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|\p{Cs}/u;
const OSC52 = "\x1b]52;c;ZWNobyBwd25lZAo=\x07";
const TITLE = "\x1b]0;all clear\x07";
const CLEAR = "\x1b[2J\x1b[H";

/** The inverse of visible(), as an analyst would read it: proves the escaped form is unambiguous. */
function unescape(s: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < s.length;) {
    if (s[i] !== "\\") {
      const cp = s.codePointAt(i)!;
      parts.push(Buffer.from(String.fromCodePoint(cp), "utf8"));
      i += cp > 0xffff ? 2 : 1;
    } else if (s[i + 1] === "\\") {
      parts.push(Buffer.from("\\"));
      i += 2;
    } else if (s[i + 1] === "x") {
      parts.push(Buffer.of(parseInt(s.slice(i + 2, i + 4), 16)));
      i += 4;
    } else {
      assert.equal(s[i + 1], "u", `escape at ${i} of ${s}`);
      const u = parseInt(s.slice(i + 2, i + 6), 16);
      parts.push(
        u >= 0xd800 && u <= 0xdfff ? Buffer.from("\ufffd", "utf8") : Buffer.from(String.fromCharCode(u), "utf8"),
      );
      i += 6;
    }
  }
  return Buffer.concat(parts);
}

test("visible(): each dangerous class becomes a visible escape", () => {
  assert.equal(visible(OSC52), "\\x1b]52;c;ZWNobyBwd25lZAo=\\x07");
  assert.equal(visible(TITLE), "\\x1b]0;all clear\\x07");
  assert.equal(visible(CLEAR), "\\x1b[2J\\x1b[H");
  assert.equal(visible("evil\rverdict  SEALED"), "evil\\x0dverdict  SEALED");
  assert.equal(visible("a\tb\nc\x00d\x7f"), "a\\x09b\\x0ac\\x00d\\x7f");
  assert.equal(visible("\u009b31m\u0085"), "\\u009b31m\\u0085", "C1 code points");
  assert.equal(
    visible("\u202eexe.txt \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c"),
    "\\u202eexe.txt \\u202a\\u202b\\u202c\\u202d \\u2066\\u2067\\u2068\\u2069 \\u200e\\u200f\\u061c",
  );
  assert.equal(visible("line\u2028sep\u2029"), "line\\u2028sep\\u2029");
  assert.equal(visible("\udcff\udc80"), "\\xff\\x80", "escaped bytes show as the byte");
  assert.equal(visible("\ud800x"), "\\ud800x", "another lone surrogate shows as its code unit");
  assert.equal(visible("a\\x1b"), "a\\\\x1b", "a typed backslash is doubled, so it cannot pose as an escape");
  assert.equal(visible("héllo wörld → 日本 😀"), "héllo wörld → 日本 😀", "printable text is untouched");
  assert.equal(visibleLength(OSC52), visible(OSC52).length);
});

test("visible(): output never holds a raw control or bidi code point, and reads back to the exact bytes", () => {
  const hostile = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.uint8Array({ maxLength: 64 }).map((b) => textOfBytes(b, 0, b.length)),
    fc
      .array(fc.constantFrom(OSC52, TITLE, CLEAR, "\r", "\\", "\u202e", "\u2066", "\u009b", "\udcff", "x", "é", "😀"))
      .map((a) => a.join("")),
  );
  fc.assert(
    fc.property(hostile, (s) => {
      const v = visible(s);
      assert.doesNotMatch(v, RAW);
      assert.ok(!v.includes("\n"));
      assert.equal(visibleLength(s), v.length);
      // Lone surrogates outside the escaped-byte range have no bytes of their own: they read back as U+FFFD.
      assert.deepEqual(unescape(v), bytesOfText(s));
    }),
    { numRuns: 2000 },
  );
});

test("kernel bytes decode losslessly: valid UTF-8 as text, every other byte as an escaped byte", () => {
  const enc = (s: string) => Buffer.from(s, "utf8");
  const name = Buffer.concat([
    enc("a\x1b]52;c;"),
    Buffer.of(0xff, 0x9b, 0xe2, 0x82),
    enc("é\u202e"),
    Buffer.of(0xed, 0xa0, 0x80, 0xc0, 0xaf),
  ]);
  const text = cText(Buffer.concat([name, Buffer.of(0, 0x41)]), 0, name.length + 2);
  assert.equal(
    text,
    "a\x1b]52;c;\udcff\udc9b\udce2\udc82é\u202e\udced\udca0\udc80\udcc0\udcaf",
    "stops at NUL; surrogates and overlongs are bytes, not text",
  );
  assert.deepEqual(bytesOfText(text), name);
  assert.equal(visible(text), "a\\x1b]52;c;\\xff\\x9b\\xe2\\x82é\\u202e\\xed\\xa0\\x80\\xc0\\xaf");
  assert.equal(cText(Buffer.of(0xef, 0xbb, 0xbf, 0x41), 0, 4), "\ufeffA", "a leading BOM is kept");
  const args = Buffer.concat([enc("sh\0-c\0"), Buffer.of(0x80, 0), enc("ok\0")]);
  assert.deepEqual(argList(args, 0, args.length), ["sh", "-c", "\udc80", "ok"]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      assert.deepEqual(bytesOfText(textOfBytes(b, 0, b.length)), Buffer.from(b));
      const valid = Buffer.from(b).toString("utf8");
      if (Buffer.from(valid, "utf8").equals(b))
        assert.equal(textOfBytes(b, 0, b.length), valid, "valid UTF-8 decodes as usual");
    }),
    { numRuns: 3000 },
  );
});

test("exactBytes: well-formed JSON text plus <field>Base64 with the exact bytes", () => {
  const comm = textOfBytes(Buffer.of(0x61, 0xff), 0, 2);
  const out = JSON.parse(
    JSON.stringify({ comm, ok: "plain", argv: ["x", comm], n: 1, nested: { path: comm } }, exactBytes),
  );
  assert.deepEqual(out, {
    comm: "a\ufffd",
    ok: "plain",
    argv: ["x", "a\ufffd"],
    n: 1,
    nested: { path: "a\ufffd", pathBase64: "Yf8=" },
    commBase64: "Yf8=",
    argvBase64: ["eA==", "Yf8="],
  });
  assert.equal(
    JSON.stringify({ a: "\x1b]52;c;x\x07" }, exactBytes),
    '{"a":"\\u001b]52;c;x\\u0007"}',
    "control characters are JSON escapes, never raw",
  );
});

test("style: fit and pad count the escaped width and never cut an escape in half", () => {
  assert.equal(width("a\x1bb"), 6);
  assert.equal(terminalText([fit("\x1b\x1b\x1b", 6)], false), "\\x1b…\n");
  assert.equal(terminalText([pad("\x1b", 6)], false), "\\x1b  \n");
  assert.equal(terminalText([line`x ${red("\x1b[2J")} y`], true), "x \x1b[31m\\x1b[2J\x1b[0m y\n");
});

/** A replay whose every piece of session text is hostile. */
function hostileReplay(): Replay {
  const bad = (tag: string) => `${tag}${OSC52}${TITLE}${CLEAR}\r\u009b2J\u202eexe.txt\u2066\udcff\\x41`;
  const host = "h1";
  const p = {
    id: bad("id"),
    host,
    pid: 42,
    ppid: 1,
    parentId: undefined,
    parentOrigin: "observed" as const,
    reparentedFrom: undefined,
    startNs: 1_700_000_000_000_000_000n,
    startBootNs: 5n,
    comm: bad("comm"),
    uid: 0,
    origin: "observed" as const,
    execs: [
      {
        timeNs: 1_700_000_000_100_000_000n,
        filename: bad("/bin/"),
        argv: [bad("argv0"), bad("<script>document.title='x'</script>")],
        argvTruncated: false,
        cwd: bad("/cwd"),
        origin: "observed" as const,
      },
    ],
    exitNs: 1_700_000_001_000_000_000n,
    exitCode: 1,
    exitSignal: undefined,
    forkNs: 1_700_000_000_000_000_000n,
    user: bad("user"),
    cgroupId: undefined,
    cgroupPath: bad("/cg"),
    container: undefined,
  };
  return {
    sessions: [
      {
        index: 0,
        path: bad("/tmp/s"),
        sessionId: bad("sid"),
        host,
        hostname: bad("host"),
        bootId: bad("boot"),
        runbook: bad("rb"),
        bundles: [bad("exec")],
        unavailable: [{ bundle: bad("exec"), what: bad("what") }],
        realtimeMinusBoottimeNs: 0n,
        startNs: 1_700_000_000_000_000_000n,
        endNs: 1_700_000_002_000_000_000n,
        lastRecordNs: 1_700_000_001_500_000_000n,
        status: "UNSEALED",
        verdictReason: bad("reason"),
        framesGood: 2,
        endReason: bad("end"),
        events: 3,
        cutOff: true,
        accountFiles: [],
      },
    ],
    processes: [p],
    connections: [
      {
        id: bad("c"),
        host,
        sockId: 1n,
        processId: p.id,
        pid: 42,
        comm: bad("ccomm"),
        protocol: "tcp",
        family: "ipv4",
        saddr: "10.0.0.1",
        sport: 1,
        daddr: "10.0.0.2",
        dport: 2,
        direction: "outbound",
        origin: "observed",
        startNs: 1_700_000_000_200_000_000n,
        establishedNs: undefined,
        endNs: 1_700_000_000_300_000_000n,
        outcome: "refused",
        errno: 111,
        retransmits: 0,
        resets: 0,
        retransmitTimes: undefined,
        resetTimes: undefined,
        connectSeen: true,
        resetInSynSent: false,
        closedFromState: undefined,
        closeErr: undefined,
        snapshotNs: undefined,
        seq: 1,
        flowKey: undefined,
        flowPending: false,
      },
    ],
    files: [
      {
        id: bad("f"),
        host,
        processId: p.id,
        pid: 42,
        comm: bad("fcomm"),
        path: bad("/tmp/p"),
        dev: 1n,
        ino: 2n,
        bytes: 10n,
        writes: 1n,
        firstNs: 1_700_000_000_400_000_000n,
        lastNs: 1_700_000_000_400_000_000n,
        deleted: false,
        renamedTo: bad("/tmp/q"),
        ops: [
          {
            kind: "rename",
            timeNs: 1_700_000_000_500_000_000n,
            path: bad("/tmp/p"),
            newPath: bad("/tmp/q"),
            mode: undefined,
            ret: 0,
          },
        ],
        pathTruncated: false,
      },
    ],
    privilege: [
      {
        id: bad("v"),
        host,
        processId: p.id,
        pid: 42,
        tid: 42,
        comm: bad("vcomm"),
        timeNs: 1_700_000_000_550_000_000n,
        syscall: "mount",
        op: 15,
        ret: -1,
        args: [1n, 2n, 3n, 4n],
        target: 42,
        targetId: p.id,
        targetComm: bad("tcomm"),
        aux: 0,
        after: {
          uid: 0,
          euid: 0,
          suid: 0,
          fsuid: 0,
          gid: 0,
          egid: 0,
          sgid: 0,
          fsgid: 0,
          capEffective: 1n,
          capPermitted: 1n,
        },
        before: {
          uid: 1,
          euid: 1,
          suid: 1,
          fsuid: 1,
          gid: 1,
          egid: 1,
          sgid: 1,
          fsgid: 1,
          capEffective: 0n,
          capPermitted: 0n,
        },
        strings: [bad("src"), bad("/mnt"), bad("fstype")],
        stringsTruncated: true,
        readFailed: false,
        oldComm: bad("old"),
      },
    ],
    losses: [
      {
        host,
        sessionIndex: 0,
        bundle: bad("exec"),
        count: 3n,
        fromNs: 1_700_000_000_600_000_000n,
        toNs: 1_700_000_000_700_000_000n,
      },
    ],
  };
}

test("every text view, plain and colour: no raw ESC, C1, bidi or other control; the hostile text is shown escaped", () => {
  const r = hostileReplay();
  for (const view of VIEWS) {
    const plain = render(r, view, "text", false);
    assert.doesNotMatch(plain, RAW, `${view} (plain)`);
    assert.ok(!plain.includes("\x1b"), view);
    const colour = render(r, view, "text", true);
    const sgr = /\x1b\[[0-9;]*m/g;
    assert.ok(colour.match(sgr)!.length > 0, `${view} has colour`);
    assert.doesNotMatch(colour.replace(sgr, ""), RAW, `${view} (colour, SGR codes removed)`);
    // Only the SGR codes we add: each ESC starts one of ours, and no hostile ESC sequence survives whole.
    assert.equal(colour.split("\x1b").length - 1, colour.match(sgr)!.length, view);
    assert.doesNotMatch(colour, /\x1b\]|\x1b\[2J|\x1b\[H/);
    // Each line of ours is one line: a hostile \r or \n cannot start or overwrite one.
    for (const l of plain.split("\n")) assert.ok(!l.includes("\r"));
  }
  const summary = render(r, "summary", "text", false);
  assert.match(summary, /host\\x1b\]52;c;ZWNobyBwd25lZAo=\\x07/, "the OSC 52 write is shown as text");
  assert.match(summary, /verdict {2}UNSEALED: reason\\x1b/, "the verdict line starts the line, nothing overwrites it");
  assert.match(render(r, "timeline", "text", false), /\\u202eexe\.txt\\u2066\\xff\\\\x41/);
  assert.match(render(r, "tree", "text", false), /exec {2}argv0\\x1b\]52/);
});

test("JSON, JSONL and Timesketch: no raw control or bidi character, and every hostile field gives back its bytes", () => {
  const r = hostileReplay();
  const exact = (s: string) => bytesOfText(s).toString("base64");
  const json = render(r, "summary", "json", false);
  assert.doesNotMatch(json, RAW);
  const doc = JSON.parse(json);
  const p = r.processes[0]!;
  assert.equal(doc.processes[0].commBase64, exact(p.comm));
  assert.deepEqual(doc.processes[0].execs[0].argvBase64, p.execs[0]!.argv.map(exact));
  assert.equal(doc.processes[0].execs[0].cwdBase64, exact(p.execs[0]!.cwd!));
  assert.equal(doc.processes[0].execs[0].filenameBase64, exact(p.execs[0]!.filename));
  assert.equal(doc.files[0].pathBase64, exact(r.files[0]!.path));
  assert.equal(doc.files[0].ops[0].newPathBase64, exact(r.files[0]!.ops[0]!.newPath!));
  assert.equal(doc.sessions[0].hostnameBase64, exact(r.sessions[0]!.hostname));
  // Text without escaped bytes is exact as it stands: its control characters are plain JSON escapes.
  assert.ok(isExactText("\x1b"));
  for (const format of ["jsonl", "timesketch"] as const) {
    const out = render(r, "summary", format, false);
    assert.doesNotMatch(out, RAW, format);
    const events = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const execEvent = events.find((e) => e.type === "process.exec" || e.data_type === "sealtrace:process:exec");
    assert.ok(execEvent, format);
    assert.equal(
      Buffer.from(execEvent.commBase64, "base64").toString("latin1"),
      bytesOfText(p.comm).toString("latin1"),
      format,
    );
    assert.equal(execEvent.cwdBase64, exact(p.execs[0]!.cwd!), format);
  }
});

test("HTML: session text is escaped and made visible; no element from the evidence", () => {
  const html = render(hostileReplay(), "summary", "html", false);
  assert.doesNotMatch(html, RAW);
  assert.ok(!html.includes("<script>document"), "the argv <script> is text");
  assert.match(html, /&lt;script&gt;document\.title=&#39;x&#39;&lt;\/script&gt;/);
  assert.equal(html.split("<script>").length - 1, 1, "one script element: ours");
  assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
});

test("CLI: a one-line error quoting a hostile path shows it escaped", () => {
  const cli = join(fileURLToPath(import.meta.url), "..", "..", "..", "src", "cli", "main.js");
  const r = spawnSync(process.execPath, [cli, "verify", `/nonexistent-sealtrace-hostile\x1b]0;x\x07\r\u202e`], {
    encoding: "utf8",
  });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.doesNotMatch(r.stderr, RAW);
  assert.match(r.stderr, /^sealtrace: .*\/nonexistent-sealtrace-hostile\\x1b\]0;x\\x07\\x0d\\u202e.*\n$/);
});

test("the process view (with its privilege events) shows hostile text escaped", () => {
  const r = hostileReplay();
  const detail = processDetail(r, r.processes[0]!);
  assert.equal(detail.privilege.length, 1);
  for (const colour of [false, true]) {
    const out = render(r, "process", "text", colour, { focus: { kind: "process", detail } });
    assert.doesNotMatch(out.replace(/\x1b\[[0-9;]*m/g, ""), RAW);
    assert.match(out, /privilege \(1\)/);
    assert.match(out, /mount\(source=/);
  }
});
