// The streaming loader: opens each session with the identities, feeds its frames to one Reconstructor,
// and records where a damaged file stops being readable. Memory holds entities, never the whole file.
import { statSync } from "node:fs";
import { UserError } from "../errors.js";
import { HDR } from "../events/layouts.js";
import { KeyRing } from "../session/envelope.js";
import { openSession } from "../session/reader.js";
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from "../session/body.js";
import { MetadataError, parseSessionMetadata, type SessionMeta } from "./metadata.js";
import type { Replay } from "./model.js";
import { retuneHeapGrowth } from "./heap.js";
import { Reconstructor } from "./reconstruct.js";

/** What one replay may cost (docs/REPLAY.md "Limits"); the CLI's --max-* flags override them. */
export interface ReplayLimits extends FrameLimits {
  /** Kernel records decoded across all files; reading stops after the stored record that passes it. */
  readonly maxEvents: number;
  /** Objects kept (Reconstructor.kept: processes, connections, files, loss gaps, exec images, file ops). */
  readonly maxEntities: number;
}

/**
 * A 1 GiB session of a busy host holds ~52 M events and ~312 k entities (docs/BENCHMARKS.md), so the
 * defaults replay it whole; a crafted file stops at about 100 s of work and ~1 GiB of entities.
 */
export const DEFAULT_REPLAY_LIMITS: ReplayLimits = {
  ...DEFAULT_FRAME_LIMITS,
  maxEvents: 100_000_000,
  maxEntities: 500_000,
};

export interface LoadResult {
  replay: Replay;
  /** Kernel records decoded across all files. */
  events: number;
  /** One line for each thing left out or merged away: skipped frames and records, limits reached, duplicates. */
  notes: string[];
}

/** The shape check of frame 0, as the one line the CLI prints. */
function checkedMetadata(path: string, metadata: unknown): SessionMeta {
  try {
    return parseSessionMetadata(metadata, HDR.size);
  } catch (e) {
    if (!(e instanceof MetadataError)) throw e;
    throw new UserError(
      `${path}: frame 0 (metadata): ${e.message}; this is not what sealtrace writes, nothing was replayed`,
      "tampered",
    );
  }
}

/** dev:ino of a path, to tell the same file given twice (also through a link); undefined if stat fails. */
function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined; // openSession reports it
  }
}

/**
 * Reads every file in order into one reconstruction. An UNSEALED or TAMPERED file is read up to its last
 * authentic frame and marked cut off; a limit reached marks the session `LIMIT` (cut off) and leaves later
 * files unread. The same file given twice is read once. Throws UserError from openSession: wrong-key when no
 * identity opens a file, tampered/unsealed/not-a-session when even its header or metadata frame is
 * unreadable; tampered when frame 0 breaks the metadata shape; bad-input when two files hold the
 * same session.
 */
export async function loadSessions(
  paths: readonly string[],
  identities: readonly string[],
  limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
): Promise<LoadResult> {
  const keys = new KeyRing(identities);
  const r = new Reconstructor();
  const notes: string[] = [];
  const files = new Map<string, string>();
  const sessions = new Map<string, string>();
  let stopped: string | undefined;
  for (const path of paths) {
    const id = fileIdentity(path);
    const same = id === undefined ? undefined : files.get(id);
    if (same !== undefined) {
      notes.push(`${path}: the same file as ${same}; read once`);
      continue;
    }
    if (id !== undefined) files.set(id, path);
    if (stopped !== undefined) {
      notes.push(`${path}: not read: ${stopped}`);
      continue;
    }
    // Each frame's records are reconstructed before the next frame is asked for: frames are opened a few
    // ahead in a worker thread meanwhile (a big file), into buffers reused frame after frame.
    const reader = await openSession(path, {
      identities: keys,
      frameLimits: limits,
      reuseBuffers: true,
      decodeAhead: true,
    });
    const first = sessions.get(reader.sessionIdHex);
    if (first !== undefined) {
      await reader.close();
      throw new UserError(
        `${path} and ${first} hold the same session ${reader.sessionIdHex} (a copy, or a .partial and its sealed file); give only one of them`,
        "bad-input",
      );
    }
    sessions.set(reader.sessionIdHex, path);
    let meta: SessionMeta;
    try {
      meta = checkedMetadata(path, reader.metadata);
    } catch (e) {
      await reader.close();
      throw e;
    }
    r.beginSession(path, reader.sessionIdHex, meta);
    let cut: string | undefined;
    frames: for await (const frame of reader.frames()) {
      r.at.frame = frame.index;
      retuneHeapGrowth();
      for (let i = 0; i < frame.records.length; i++) {
        r.at.record = i;
        r.record(frame.records[i]);
        if (r.events > limits.maxEvents)
          cut = `the --max-events limit (${limits.maxEvents} kernel records) was reached in frame ${frame.index}`;
        else if (r.kept > limits.maxEntities)
          cut = `the --max-entities limit (${limits.maxEntities} processes, connections, files and their lists) was reached in frame ${frame.index}`;
        if (cut !== undefined) break frames; // ends frames(), which closes the file
      }
    }
    for (const s of reader.skippedFrames) notes.push(`${path}: ${s.reason}; skipped`);
    if (cut !== undefined) {
      stopped = cut;
      notes.push(`${path}: replay stopped: ${cut}; the rest of this file was not read or checked`);
      r.endSession(
        {
          status: "LIMIT",
          reason: `replay stopped: ${cut}; the rest was not read or checked`,
          framesGood: r.at.frame + 1,
        },
        undefined,
      );
      continue;
    }
    const verdict = reader.verdict ?? { status: "TAMPERED", reason: "reader stopped without a verdict", framesGood: 0 };
    r.endSession(verdict, reader.finale?.summary);
  }
  for (const s of r.skips.all)
    notes.push(
      `${s.first}; skipped${s.count > 1 ? ` (and ${s.count - 1} more ${s.kind} record${s.count > 2 ? "s" : ""} like it)` : ""}`,
    );
  return { replay: r.finish(), events: r.events, notes };
}
