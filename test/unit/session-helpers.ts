// Shared pieces of the session tests: temp dirs, test keys, and a map of where each frame sits in a file.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { SessionWriter, type SessionWriterOptions } from "../../src/session/writer.js";

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sealtrace-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function testKey(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Writes a session with one frame per entry of `frames`, returns the file path. */
export async function writeSession(
  path: string,
  frames: readonly unknown[][],
  options: Partial<SessionWriterOptions> & { recipients: readonly string[] },
  summary: unknown = { endReason: "test" },
): Promise<string> {
  const writer = await SessionWriter.create(path, { metadata: { test: true }, flushIntervalMs: 3_600_000, ...options });
  for (const records of frames) {
    for (const r of records) writer.append(r);
    await writer.flush();
  }
  await writer.close(summary);
  return path;
}

export interface FrameSpan {
  readonly start: number;
  readonly end: number;
}

/** Header end, each frame's [start, end), and the trailer start: read straight from the layout in FORMAT.md. */
export function frameSpans(bytes: Uint8Array): { headerEnd: number; frames: FrameSpan[]; trailerStart: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerEnd = view.getUint32(12, true);
  const frames: FrameSpan[] = [];
  let at = headerEnd;
  for (;;) {
    const ciphertextBytes = view.getUint32(at, true);
    const final = (bytes[at + 4]! & 1) === 1;
    const end = at + 16 + ciphertextBytes + 32;
    frames.push({ start: at, end });
    at = end;
    if (final) break;
  }
  return { headerEnd, frames, trailerStart: at };
}

/** msgpack gives Buffers for bin; compare them as plain bytes. */
export function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

/** Threads of this process now (a decode thread is one while it runs). */
export function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
}

/** Waits up to `ms` for `ok()`, polling every 10 ms; its last answer. */
export async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return ok();
}
