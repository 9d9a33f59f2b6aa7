// Runs the sealtrace CLI on a crafted session as a user would, and measures it: exit code or signal, wall
// time and peak RSS (the child's own getrusage, via rss-probe.ts). A run past its time bound is killed.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { generateX25519Identity, identityToRecipient } from "age-encryption";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const PROBE = new URL("./rss-probe.js", import.meta.url).href;

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set of the CLI process, MiB (undefined if it died before exit). */
  peakRssMiB: number | undefined;
}

/** A temp dir named for this tier, and a test key written as an identity file in it. */
export async function workspace(): Promise<{
  dir: string;
  identityPath: string;
  recipient: string;
  cleanup: () => void;
}> {
  const dir = mkdtempSync(join(tmpdir(), "sealtrace-hostile-"));
  const identity = await generateX25519Identity();
  const identityPath = join(dir, "id.key");
  writeFileSync(identityPath, identity + "\n", { mode: 0o600 });
  return {
    dir,
    identityPath,
    recipient: await identityToRecipient(identity),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `sealtrace ...args`; kills it with SIGKILL after `killAfterMs` (a hang shows as that signal). */
export function runCli(args: readonly string[], killAfterMs: number): Promise<Run> {
  const rssFile = join(mkdtempSync(join(tmpdir(), "sealtrace-hostile-rss-")), "rss");
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", PROBE, CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1", NO_COLOR: "1", SEALTRACE_HOSTILE_RSS_FILE: rssFile },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout.length < 1 << 26 ? (stdout += d) : undefined));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const peakRssMiB = existsSync(rssFile) ? Number(readFileSync(rssFile, "utf8")) / 1024 : undefined;
      rmSync(join(rssFile, ".."), { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, wallMs, peakRssMiB });
    });
  });
}

/** Exit codes a crafted session may produce (README table): usage, unsealed, tampered, not a session; 0 only with a said skip. */
const HOSTILE_CODES = new Set([0, 2, 5, 6, 7]);

/**
 * The tier's common assertions: no signal (so no hang past the bound, no V8 abort), never exit 1 (a bug's
 * stack), an allowed code, and the stated bounds on wall time and peak RSS. Exit 0 needs `okWhen`.
 */
export function assertBounded(r: Run, bounds: { wallMs: number; rssMiB: number }, label: string): void {
  const facts = `${label}: code ${r.code} signal ${r.signal}, ${r.wallMs.toFixed(0)} ms, ${r.peakRssMiB?.toFixed(0)} MiB\nstderr: ${r.stderr.slice(0, 2000)}`;
  assert.equal(r.signal, null, `killed by ${r.signal} (a hang or an abort): ${facts}`);
  assert.notEqual(r.code, 1, `exit 1 is a bug: ${facts}`);
  assert.ok(r.code !== null && HOSTILE_CODES.has(r.code), `unexpected exit code: ${facts}`);
  assert.ok(!/\n\s+at .+\(.*:\d+:\d+\)/.test(r.stderr), `a stack trace was printed: ${facts}`);
  assert.ok(r.wallMs < bounds.wallMs, `over ${bounds.wallMs} ms: ${facts}`);
  assert.ok(r.peakRssMiB !== undefined && r.peakRssMiB < bounds.rssMiB, `over ${bounds.rssMiB} MiB: ${facts}`);
  // Reported so a run's real figures can be quoted (node:test shows diagnostics).
  console.log(`# ${label}: exit ${r.code}, ${r.wallMs.toFixed(0)} ms, peak RSS ${r.peakRssMiB?.toFixed(0)} MiB`);
}
