// Runs every compiled test file with node:test, tier by tier (unit, hostile, kernel, e2e), then checks that no
// sealtrace BPF program outlived the suite. Usage: node test/run.mjs [unit|hostile|kernel|e2e ...]
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync, execFileSync } from "node:child_process";

const root = new URL("../dist/test/", import.meta.url).pathname;
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ["unit", "hostile", "kernel", "e2e"];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return find(p);
      return name.endsWith(".test.js") ? [p] : [];
    });
}

// Our programs are named <bundle>_<action> (bpf/*.bpf.c); the kernel keeps 15 characters of a name.
const OURS = /^(exec|connect|retransmit|retrans|filewrite|privilege|ringtest|sock|tcp)_/;
function ourPrograms() {
  try {
    const progs = JSON.parse(execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }));
    return new Map(progs.filter((p) => OURS.test(p.name ?? "")).map((p) => [p.id, p.name]));
  } catch (e) {
    console.error(`test/run.mjs: cannot list BPF programs with bpftool: ${e.message}`);
    process.exit(1);
  }
}

const files = tiers.flatMap((t) => find(join(root, t)));
if (files.length === 0) {
  console.error("test/run.mjs: no test files found; run `npm run build` first");
  process.exit(1);
}
const before = ourPrograms();
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
// A detached program is freed after an RCU grace period: give the kernel up to 5 s before calling it a leak.
const survivors = () => [...ourPrograms()].filter(([id]) => !before.has(id));
let left = survivors();
for (let i = 0; i < 50 && left.length; i++) {
  await new Promise((r) => setTimeout(r, 100));
  left = survivors();
}
if (left.length) {
  console.error(
    `test/run.mjs: ${left.length} sealtrace BPF program(s) outlived the suite: ${left.map(([id, n]) => `${id}:${n}`).join(", ")}`,
  );
  process.exit(1);
}
process.exit(r.status ?? 1);
