// Runs the sealtrace CLI as a user would (a child process) and reads back what it recorded.
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./bpf.js";
import { readSession } from "../../src/session/reader.js";
import { readIdentityFile } from "../../src/session/identity.js";
import { forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { parseSessionMetadata } from "../../src/replay/metadata.js";
import { sessionSchema } from "../../src/replay/schema.js";
import { HDR } from "../../src/events/layouts.js";

export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

export function cliSync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, CI: "1", ...opts.env },
    input: opts.input ?? "",
    cwd: opts.cwd ?? ROOT,
    maxBuffer: 1 << 30,
  });
}

export function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

export function tempDir(prefix = "sealtrace-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Makes an identity in `dir`; returns its path and public recipient. */
export function makeKey(dir: string): { identity: string; recipient: string } {
  const identity = join(dir, "id.key");
  const r = cliSync(["keygen", "-o", identity]);
  if (r.status !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  const recipient = /age1[0-9a-z]{58}/.exec(r.stdout + r.stderr)?.[0];
  if (!recipient) throw new Error(`keygen printed no recipient: ${r.stdout}`);
  return { identity, recipient };
}

export interface Recorded {
  metadata: Record<string, unknown>;
  records: Array<Record<string, unknown>>;
  kernel: Array<DecodedRecord & { bundle: string }>;
  summary: Record<string, unknown> | undefined;
  verdict: string;
}

/** Decrypts a session and decodes every kernel record in it, with the schema it stores, as replay does. */
export async function readRecorded(path: string, identityPath: string): Promise<Recorded> {
  const s = await readSession(path, { identities: await readIdentityFile(identityPath) });
  const records = s.records as Array<Record<string, unknown>>;
  const kernel: Recorded["kernel"] = [];
  const schema = sessionSchema(parseSessionMetadata(s.metadata, HDR.size).schema);
  for (const r of records) {
    if ((r.k === "ring" || r.k === "start") && r.d instanceof Uint8Array) {
      const d = r.d;
      forEachRecord(d, (off, len) => {
        const e = decodeRecord(d, off, len, schema);
        if (e) kernel.push(Object.assign(e, { bundle: String(r.b) }));
      });
    }
  }
  return {
    metadata: s.metadata as Record<string, unknown>,
    records,
    kernel,
    summary: s.finale?.summary as Record<string, unknown> | undefined,
    verdict: s.verdict.status,
  };
}
