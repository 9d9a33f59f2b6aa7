// `npm run test:kernels`: the kernel matrix. Boots each Debian kernel of kernels.conf under qemu
// (vm.sh), runs suite.mjs in it (doctor, then the test files below), does the same natively on the
// host's kernel, and prints a kernel × bundle table: ok / degraded: named features / FAILED: reason.
// Exit 1 when any cell failed. Usage:
//   node test/kernels/matrix.mjs [--kernels 5.10,6.1,6.12,host] [--files a.test.js,...] [--vm-timeout SECONDS]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const root = join(here, "..", "..");

// What runs on every kernel. Under TCG a process start costs ~100x the host's, so the storm and
// scale tests (kernel/exec's 20,000-exec storm, e2e/storm's 2 M writes, 30 s recordings) would take
// hours per kernel; they stay in `npm test` on the host. Per kernel we run what decides whether
// sealtrace works there: doctor's trial load of every bundle alone and together (suite.mjs: the
// table's cells), the executable's identity read from struct inode across its layouts (exec-identity;
// the byte layouts against the objects' BTF need no kernel: unit/kernel-contract), record agreeing with
// doctor on every bundle (doctor-record), and the whole product path record → verify → replay on a
// scripted intrusion chain (replay-chain), and the forced-retransmit facts (net-retransmit: 20% loss in a
// netns, the sender's count against TcpRetransSegs, resets with and without a socket), and the privilege
// bundle's syscalls on real processes (privilege: its raw sys_exit twin on 5.10). kernel/loader and
// e2e/doctor repeat doctor's trial loads.
const DEFAULT_FILES = [
  "dist/test/kernel/exec-identity.test.js",
  "dist/test/e2e/doctor-record.test.js",
  "dist/test/e2e/replay-chain.test.js",
  "dist/test/kernel/net-retransmit.test.js",
  "dist/test/kernel/privilege.test.js",
];
// Workload waits in the tests (test/helpers/net.ts) are scaled by this inside the VMs: TCG runs them
// 10-100x slower than the host (measured: net-retransmit's first test takes 60 s on 6.12 under TCG).
const VM_SLOWDOWN = "10";
const BUNDLE_COLUMNS = ["exec", "connect", "retransmit", "filewrite", "privilege"];

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const configured = readFileSync(join(here, "kernels.conf"), "utf8")
  .split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => l.trim().split(/\s+/)[0]);
const kernels = opt("--kernels", [...configured, "host"].join(",")).split(",");
const files = opt("--files", DEFAULT_FILES.join(",")).split(",");
const vmTimeout = Number(opt("--vm-timeout", "1500"));
const fileTimeout = Number(opt("--file-timeout", "600"));

/** Runs one kernel; resolves with its suite result (or the reason there is none) and its wall time. */
function runKernel(name) {
  const suite = ["test/kernels/suite.mjs", "--file-timeout", String(fileTimeout), ...files];
  const [cmd, args] =
    name === "host"
      ? [process.execPath, suite]
      : [join(here, "vm.sh"), ["--timeout", String(vmTimeout), name, "--", process.execPath, ...suite]];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const env = name === "host" ? process.env : { ...process.env, SEALTRACE_TEST_SLOWDOWN: VM_SLOWDOWN };
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let result;
    let stderrTail = "";
    const prefix = (stream, out, onLine) => {
      let buf = "";
      stream.on("data", (d) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop();
        for (const l of lines) {
          if (l.startsWith("@@kmatrix ")) result = JSON.parse(l.slice(10));
          else out.write(`[${name}] ${l}\n`);
          onLine?.(l);
        }
      });
    };
    prefix(child.stdout, process.stdout);
    prefix(child.stderr, process.stderr, (l) => (stderrTail = l.trim() ? l : stderrTail));
    child.on("close", (code, signal) => {
      const seconds = Math.round((Date.now() - t0) / 1000);
      if (result) resolve({ name, seconds, result });
      else
        resolve({
          name,
          seconds,
          failure: `${name === "host" ? "suite" : "VM"} ended (${code ?? signal}) without a result: ${stderrTail.slice(0, 200)}`,
        });
    });
  });
}

/** doctor's rows by name: status and detail. */
function doctorRows(stdout) {
  const rows = new Map();
  for (const line of stdout.split("\n")) {
    const m = /^(ok|degraded|note|MISSING)\s{2,}(.+?)\s{2,}(.*)$/.exec(line);
    if (m) rows.set(m[2], { status: m[1], detail: m[3] });
  }
  return rows;
}

function cell(row) {
  if (!row) return { text: "FAILED: no doctor row", ok: false };
  if (row.status === "ok") return { text: "ok", ok: true };
  if (row.status === "degraded") return { text: `degraded: ${row.detail.replace(/^.*?degraded: /, "")}`, ok: true };
  return { text: `FAILED: ${row.detail}`, ok: false };
}

const outcomes = [];
for (const k of kernels) {
  console.log(`\n=== kernel ${k}${k === "host" ? ` (${release()}, native)` : " (qemu)"}`);
  const o = await runKernel(k);
  console.log(`=== kernel ${k}: ${o.seconds}s`);
  outcomes.push(o);
}

// The table, in Markdown so a CI log and an issue comment show the same thing.
const header = ["kernel", ...BUNDLE_COLUMNS, "together", "tests", "time"];
const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
let failed = 0;
for (const o of outcomes) {
  const label = `${o.name}${o.result ? ` (${o.result.kernel})` : ""}`;
  if (!o.result) {
    failed++;
    lines.push(
      `| ${label} | ${[...BUNDLE_COLUMNS, "together", "tests"].map(() => `FAILED: ${o.failure}`).join(" | ")} | ${o.seconds}s |`,
    );
    continue;
  }
  const rows = doctorRows(o.result.doctor.stdout);
  const envBad = [...rows].filter(([n, r]) => r.status === "MISSING" && !n.startsWith("bundle ") && n !== "together");
  const cells = [...BUNDLE_COLUMNS.map((b) => cell(rows.get(`bundle ${b}`))), cell(rows.get("together"))];
  if (envBad.length)
    cells.forEach((c) => {
      if (!c.ok) c.text = `FAILED: ${envBad.map(([n, r]) => `${n}: ${r.detail}`).join("; ")}`;
    });
  const badTests = o.result.tests.filter((t) => t.status !== "ok");
  const testCell =
    badTests.length || o.result.leftovers.length
      ? {
          ok: false,
          text: `FAILED: ${[...badTests.map((t) => `${t.file.split("/").pop()} ${t.status}`), ...(o.result.leftovers.length ? [`programs left loaded: ${o.result.leftovers.join(", ")}`] : [])].join("; ")}`,
        }
      : { ok: true, text: `ok (${o.result.tests.length} files)` };
  cells.push(testCell);
  if (cells.some((c) => !c.ok)) failed++;
  lines.push(`| ${label} | ${cells.map((c) => c.text.replace(/\|/g, "\\|")).join(" | ")} | ${o.seconds}s |`);
}
console.log(`\nKernel matrix (test files: ${files.map((f) => f.replace(/^dist\/test\//, "")).join(", ")}):\n`);
console.log(lines.join("\n"));
for (const o of outcomes.filter((x) => x.result)) {
  const slow = o.result.tests.map((t) => `${t.file.split("/").pop()} ${t.seconds}s`).join(", ");
  console.log(`\n${o.name}: ${slow}`);
}
console.log(failed ? `\ntest:kernels: ${failed} kernel(s) with failures` : "\ntest:kernels: every kernel ok");
process.exit(failed ? 1 : 0);
