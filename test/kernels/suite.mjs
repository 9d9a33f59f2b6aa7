// What `npm run test:kernels` runs on each kernel (inside the VM, or natively for the host's):
// `sealtrace doctor`, then the given compiled test files one by one, then a check that no sealtrace
// BPF program outlived them. Streams everything; the last line is `@@kmatrix {json}` for matrix.mjs.
// Usage: node test/kernels/suite.mjs [--file-timeout SECONDS] dist/test/<tier>/<file>.test.js ...
import { spawnSync, execFileSync } from "node:child_process";
import { release } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const args = process.argv.slice(2);
let fileTimeout = 900;
if (args[0] === "--file-timeout") {
  fileTimeout = Number(args[1]);
  args.splice(0, 2);
}

// Programs are named <bundle>_<action> (bpf/*.bpf.c), as test/run.mjs checks.
const OURS = /^(exec|connect|retransmit|retrans|filewrite|ringtest|sock|tcp)_/;
function ourPrograms() {
  const progs = JSON.parse(execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }));
  return new Map(progs.filter((p) => OURS.test(p.name ?? "")).map((p) => [p.id, p.name]));
}

const result = { kernel: release(), doctor: { status: null, stdout: "", stderr: "" }, tests: [], leftovers: [] };
const before = ourPrograms();

console.log(`== doctor on ${release()}`);
const d = spawnSync(join(root, "bin", "sealtrace"), ["doctor"], { encoding: "utf8", timeout: 600_000 });
result.doctor = { status: d.status, stdout: d.stdout, stderr: d.stderr };
process.stdout.write(d.stdout + d.stderr);

for (const file of args) {
  console.log(`== ${file}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", file], {
    stdio: "inherit",
    timeout: fileTimeout * 1000,
    killSignal: "SIGKILL",
  });
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const status =
    r.error?.code === "ETIMEDOUT"
      ? `timed out after ${fileTimeout}s`
      : r.status === 0
        ? "ok"
        : `exit ${r.status ?? r.signal}`;
  result.tests.push({ file, status, seconds });
  console.log(`== ${file}: ${status} in ${seconds}s`);
}

// A detached program is freed after an RCU grace period: give the kernel up to 5 s.
for (let i = 0; i < 50; i++) {
  result.leftovers = [...ourPrograms()].filter(([id]) => !before.has(id)).map(([id, n]) => `${id}:${n}`);
  if (result.leftovers.length === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`@@kmatrix ${JSON.stringify(result)}`);
