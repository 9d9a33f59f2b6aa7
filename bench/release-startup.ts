// Start-up to probes attached: the release tarball's launcher against the npm install, alternating in one run.
// Usage (root): node dist/bench/release-startup.js TARBALL [REPS=5]. Both record the triage runbook for 2 s;
// "wall" is spawn to the "probes attached in" line, "reported" the recorder's own figure (process start to
// the last bundle attached, as in the session's attach record).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spread, type Spread } from "./lib/stats.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function attachOnce(cli: string, recipient: string, out: string): Promise<{ wallMs: number; reportedMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(
      cli,
      ["record", "--runbook", "triage", "--duration", "2s", "-r", recipient, "-o", out, "--yes"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    let result: { wallMs: number; reportedMs: number } | undefined;
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /probes attached in (\d+) ms/.exec(stderr);
      if (m && !result) result = { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, reportedMs: Number(m[1]) };
    });
    child.on("exit", (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`${cli} exited ${code}: ${stderr}`)),
    );
  });
}

async function main(): Promise<void> {
  const tarball = process.argv[2];
  const reps = Number(process.argv[3] ?? 5);
  if (!tarball) throw new Error("usage: release-startup.js TARBALL [REPS]");
  const dir = mkdtempSync("/tmp/st-rel-bench-");
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", dir]);
    const home = join(dir, readdirSync(dir)[0]!);
    const release = join(home, "sealtrace");
    execFileSync(release, ["keygen", "-o", join(dir, "k.key")], { stdio: "ignore" });
    const recipient = /age1[0-9a-z]{58}/.exec(readFileSync(join(dir, "k.key"), "utf8"))![0];
    const contenders: Array<[string, string]> = [
      ["npm install (bin/sealtrace, system Node " + process.version + ")", join(ROOT, "bin", "sealtrace")],
      [`release (${readFileSync(join(home, "BUILD.json"), "utf8").match(/"node": "([^"]+)"/)?.[1] ?? "?"})`, release],
    ];
    const wall = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
    const reported = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
    for (let i = 0; i < reps; i++) {
      for (const [name, cli] of i % 2 ? [...contenders].reverse() : contenders) {
        const out = join(dir, `s-${i}.sealed`);
        const r = await attachOnce(cli, recipient, out);
        rmSync(out, { force: true });
        wall.get(name)!.push(r.wallMs);
        reported.get(name)!.push(r.reportedMs);
        process.stderr.write(`bench: ${name}: wall ${r.wallMs.toFixed(0)} ms, reported ${r.reportedMs} ms\n`);
      }
    }
    const fmt = (s: Spread) => `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)}, n=${s.n})`;
    const [npmName, relName] = [contenders[0]![0], contenders[1]![0]];
    for (const [name] of contenders)
      process.stdout.write(
        `${name}: launch → probes attached ${fmt(spread(wall.get(name)!))}; reported attachMs ${fmt(spread(reported.get(name)!))}\n`,
      );
    // Paired by repetition (the two ran back to back), which cancels most of a drifting machine's speed.
    const pairs = wall.get(relName)!.map((r, i) => r / wall.get(npmName)![i]!);
    const p = spread(pairs);
    process.stdout.write(
      `ratio release / npm install: ${(spread(wall.get(relName)!).median / spread(wall.get(npmName)!).median).toFixed(2)}x of medians; per pair median ${p.median.toFixed(2)}x (${p.min.toFixed(2)}–${p.max.toFixed(2)})\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
