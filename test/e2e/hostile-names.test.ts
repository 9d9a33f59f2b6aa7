// Issue 13, item 1, end to end (root, real kernel): real processes name themselves, their argv, cwd and
// files with terminal escapes (OSC 52, title, clear screen), C1, bidi overrides, \r, invalid UTF-8 and HTML;
// the recorder runs the shipped suspicious-process runbook under a hostile hostname. Then every text view,
// verify and every format must be free of raw ESC/C1/bidi bytes, JSON must give back the exact bytes,
// and the HTML, opened in Chromium, must run nothing from the evidence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { CLI, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { OUR_PROGRAM, ROOT, loadedPrograms, sleep } from "../helpers/bpf.js";
import { bytesOfText } from "../../src/replay/rawbytes.js";

const notRoot = process.getuid?.() !== 0 ? "needs root: records with real BPF probes" : false;
const CHROMIUM = "/usr/bin/chromium";
/** Raw code points a terminal acts on or that reorder text; the newline ending our own lines is allowed. */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;
const HOSTNAME = "h\x1b]0;owned\x07\rverdict  SEALED\u202e";
const INCIDENT = "INC\x1b]52;c;cHduZWQ=\x07";

/** Output bytes must be valid UTF-8 (no raw invalid byte) and hold no raw ESC, C1 or bidi code point. */
function assertClean(label: string, bytes: Buffer): string {
  assert.ok(!bytes.includes(0x1b), `${label}: a raw ESC byte`);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  const m = RAW.exec(text);
  assert.equal(m, null, `${label}: raw U+${m?.[0].codePointAt(0)?.toString(16)} at ${m?.index}`);
  return text;
}

function cli(args: string[]): { status: number | null; stdout: Buffer; stderr: Buffer } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, CI: "1" }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Used {
  name: string;
  link: string;
  dir: string;
  cwd: string;
  comm: string;
  file: string;
  argv: string[];
  payloads: string[];
}
type Obj = Record<string, unknown>;

/** The bytes of a JSON field: its Base64 sibling when it has one, else its text as UTF-8. */
function fieldBytes(o: Obj, key: string): Buffer {
  const b64 = o[`${key}Base64`];
  return typeof b64 === "string" ? Buffer.from(b64, "base64") : Buffer.from(String(o[key]), "utf8");
}

test(
  "hostile comm/argv/cwd/file names and hostname: no raw escapes in any view or format, exact bytes in JSON, nothing runs in the HTML",
  {
    skip: notRoot || (existsSync(CHROMIUM) ? false : "needs Debian chromium (apt-get install -y chromium)"),
    timeout: 120_000,
  },
  async (t) => {
    // Other recorders may run on this shared machine: only programs loaded after this point are this test's.
    const before = loadedPrograms();
    const dir = tempDir("sealtrace-escapes-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const key = makeKey(dir);
    const out = join(dir, "hostile.sealed");
    const driver = spawn("/usr/bin/python3", [join(ROOT, "fixtures/hostile/workload.py"), dir], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let driverOut = "";
    let driverErr = "";
    driver.stdout.on("data", (d: Buffer) => (driverOut += d.toString()));
    driver.stderr.on("data", (d: Buffer) => (driverErr += d.toString()));
    const driverDone = new Promise<number | null>((r) => driver.on("exit", (c) => r(c)));
    await waitFor(() => driverOut, "ready\n");
    // The recorder in its own UTS namespace, so that it records a hostile hostname without changing the host's.
    const setHost =
      "import os, socket, sys; socket.sethostname(bytes.fromhex(sys.argv[1])); os.execv(sys.argv[2], sys.argv[2:])";
    const rec = spawn(
      "unshare",
      [
        "--uts",
        "/usr/bin/python3",
        "-c",
        setHost,
        Buffer.from(HOSTNAME).toString("hex"),
        process.execPath,
        CLI,
        "record",
        "--runbook",
        "suspicious-process",
        "--pid",
        String(driver.pid),
        "--incident",
        INCIDENT,
        "-r",
        key.recipient,
        "-o",
        out,
        "--yes",
        "--duration",
        "60s",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" } },
    );
    let recErr = "";
    rec.stderr.on("data", (d: Buffer) => (recErr += d.toString()));
    const recDone = new Promise<number | null>((r) => rec.on("exit", (c) => r(c)));
    try {
      await waitFor(() => recErr, "probes attached", 20_000);
      driver.stdin.end("go\n");
      assert.equal(await driverDone, 0, driverErr);
      await sleep(1500);
      rec.kill("SIGINT");
      assert.equal(await recDone, 0, recErr);
    } finally {
      if (driver.exitCode === null) driver.kill("SIGKILL");
      if (rec.exitCode === null) rec.kill("SIGKILL");
    }
    const used = JSON.parse(driverOut.slice(driverOut.indexOf("\n") + 1)) as Used;
    const hex = (h: string) => Buffer.from(h, "hex");
    // The comm the workload gave itself (prctl through /proc/self/comm) is in the evidence: the kernel records
    // of its own events carry it. (Replay names a process by its exec or first record, so this comm reaches
    // the views only through the start snapshot; the views are checked for raw bytes all the same.)
    const recorded = await readRecorded(out, key.identity);
    assert.ok(
      recorded.kernel.some((e) => e.tgid === driver.pid && bytesOfText(e.comm).equals(hex(used.comm))),
      "the renamed comm in the kernel records",
    );

    // A hostile file name too: verify's `file:` line and the summary quote it.
    const hostileFile = join(dir, "s\x1b]0;x\x07\r\u202e.sealed");
    renameSync(out, hostileFile);
    try {
      const v = cli(["verify", hostileFile]);
      assert.equal(v.status, 0, v.stderr.toString());
      const report = assertClean("verify", v.stdout);
      assert.match(report, /^file: {7}.*s\\x1b\]0;x\\x07\\x0d\\u202e\.sealed$/m);
      assert.match(report, /^verdict: {4}SEALED/m);

      const views: Record<string, string> = {};
      for (const view of ["summary", "tree", "timeline", "connections", "files"]) {
        const r = cli(["replay", hostileFile, "-i", key.identity, "--view", view]);
        assert.equal(r.status, 0, r.stderr.toString());
        views[view] = assertClean(view, r.stdout);
        assertClean(`${view} stderr`, r.stderr);
      }
      // The hostile text is there, shown as escapes (so the checks above were not vacuous).
      assert.match(views.summary!, /h\\x1b\]0;owned\\x07\\x0dverdict {2}SEALED\\u202e/, "hostname");
      assert.match(views.summary!, /^ {2}verdict {2}SEALED: /m, "the verdict line is ours, whole");
      const shown = [
        "\\x1b]52;c;cHduZWQ=\\x07",
        "\\x1b]0;all clear\\x07",
        "\\x1b[2J\\x1b[H",
        "\\x0dverdict: SEALED",
        "\\x9b31m\\u009b31m",
        "\\u202egnp.exe\\u2066i\\u2069",
        "\\xff\\xfe\\xc0\\xaf",
        "a\\\\x1b",
      ];
      assert.equal(shown.length, used.payloads.length);
      // An exec line may carry the executable's short hash and flags before argv: `exec  [0123456789ab] x …`.
      const execShown = (view: string, lead: string, p: string) =>
        view.split("\n").some((l) => l.endsWith(` x ${p}`) && new RegExp(`${lead}(\\[[^\\]]*\\] )?x `).test(l));
      for (const p of shown) {
        assert.ok(execShown(views.tree!, "exec  ", p), `tree shows ${p}`);
        assert.ok(views.timeline!.includes(` exec x ${p}\n`), `timeline shows ${p}`);
      }
      assert.match(views.tree!, /\\x1b\]0;t\\x07\\xff\\x0d\\u202e \[\d+\]/, "the exec name as comm");
      assert.match(
        views.tree!,
        /│ file \/tmp\/sealtrace-escapes-\w+\/d\\x1b\]52;c;/,
        "the written file's path (the files view cuts it before the escapes)",
      );
      assert.match(views.files!, / 4321 {7}1 \/tmp\/sealtrace-escapes-/);

      const formats: Record<string, string> = {};
      for (const format of ["json", "jsonl", "timesketch", "html"]) {
        const r = cli(["replay", hostileFile, "-i", key.identity, "--format", format]);
        assert.equal(r.status, 0, r.stderr.toString());
        formats[format] = assertClean(format, r.stdout);
      }

      // JSON gives back the exact bytes of the exec name, argv, cwd, comm and file name.
      const doc = JSON.parse(formats.json!) as {
        sessions: Obj[];
        processes: Array<Obj & { execs: Obj[] }>;
        files: Obj[];
      };
      const link = hex(used.link);
      const execs = doc.processes.flatMap((p) => p.execs.map((e) => ({ p, e })));
      const hit = execs.find(({ e }) => fieldBytes(e, "filename").equals(link));
      assert.ok(hit, `the exec of the hostile link; execs: ${execs.map(({ e }) => e.filename).join(" | ")}`);
      const argv = (hit.e.argvBase64 as string[]).map((b) => Buffer.from(b, "base64"));
      assert.deepEqual(argv, [link, ...used.argv.map(hex)], "argv bytes");
      assert.deepEqual(fieldBytes(hit.e, "cwd"), hex(used.cwd), "cwd bytes");
      assert.deepEqual(fieldBytes(hit.p, "comm"), hex(used.name), "comm bytes (the exec name)");
      const file = doc.files.find((f) => fieldBytes(f, "path").equals(hex(used.file)));
      assert.ok(file, `the hostile file; files: ${doc.files.map((f) => f.path).join(" | ")}`);
      assert.equal(file.bytes, 4321);
      assert.equal(doc.sessions[0]!.hostname, HOSTNAME, "hostname (valid UTF-8: exact as text)");
      for (const format of ["jsonl", "timesketch"]) {
        const events = formats[format]!.trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Obj);
        const ex = events.find((e) => typeof e.filename === "string" && fieldBytes(e, "filename").equals(link));
        assert.ok(ex, `${format}: the exec event`);
        assert.deepEqual(fieldBytes(ex, "cwd"), hex(used.cwd), `${format}: cwd bytes`);
        assert.deepEqual(fieldBytes(ex, "comm"), hex(used.name), `${format}: comm bytes`);
        assert.deepEqual(
          fieldBytes(ex, "argv"),
          Buffer.concat([link, ...used.argv.map(hex)].flatMap((a, i) => (i ? [Buffer.from(" "), a] : [a]))),
          `${format}: argv bytes (space-joined)`,
        );
      }

      // Chromium: the argv's <script>, <img onerror> and <svg onload> payloads stay text.
      const htmlFile = join(dir, "report.html");
      writeFileSync(htmlFile, formats.html!);
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(e.message));
        page.on("request", (r) => {
          if (!r.url().startsWith("file:")) problems.push(`network: ${r.url()}`);
        });
        // Page-context code as strings: this project compiles without the DOM library.
        await page.addInitScript({
          content:
            "window.__violations=[];document.addEventListener('securitypolicyviolation',function(e){window.__violations.push(e.violatedDirective+' '+e.blockedURI);});",
        });
        await page.goto(`file://${htmlFile}`);
        await page.locator(".lane").first().dispatchEvent("mouseover");
        const state = await page.evaluate<{
          pwned: string | null;
          violations: string[];
          scripts: number;
          imgs: number;
          svgs: number;
        }>(
          "({ pwned: window.__pwned === undefined ? null : String(window.__pwned), violations: window.__violations, scripts: document.scripts.length, imgs: document.images.length, svgs: document.querySelectorAll('svg').length })",
        );
        assert.equal(state.pwned, null, "a payload from the evidence ran");
        assert.deepEqual(state.violations, [], "nothing from the evidence even tried to run or load");
        assert.deepEqual(problems, []);
        assert.equal(state.scripts, 1, "our one script");
        assert.equal(state.imgs + state.svgs, 0, "no element from the evidence");
        const tips = await page
          .locator(".mark-exec")
          .evaluateAll((els) => els.map((e) => e.getAttribute("data-tip") ?? ""));
        assert.ok(
          tips.some((t) => t.includes("<img src=x onerror=")),
          "the payload is shown as text in the tooltips",
        );
        assert.ok(
          tips.some((t) => t.includes("\\x1b]52;c;cHduZWQ=\\x07")),
          "escapes shown visibly in the HTML",
        );
      } finally {
        await browser.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const survivors = () => [...loadedPrograms()].filter(([id, name]) => !before.has(id) && OUR_PROGRAM.test(name));
    for (let i = 0; i < 50 && survivors().length > 0; i++) await sleep(100);
    assert.deepEqual(survivors(), [], "probes outlived the recorder");
  },
);
