// Runs every compiled test file with node:test, tier by tier: unit, kernel, e2e.
// Usage: node test/run.mjs [unit|kernel|e2e ...]
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("../dist/test/", import.meta.url).pathname;
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ["unit", "kernel", "e2e"];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith(".test.js") ? [p] : [];
  });
}

const files = tiers.flatMap((t) => find(join(root, t)));
if (files.length === 0) {
  console.error("test/run.mjs: no test files found; run `npm run build` first");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
