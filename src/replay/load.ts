// The streaming loader: opens each session with the identities, feeds its frames to one Reconstructor,
// and records where a damaged file stops being readable. Memory holds entities, never the whole file.
import { KeyRing } from "../session/envelope.js";
import { openSession } from "../session/reader.js";
import type { Replay } from "./model.js";
import { Reconstructor } from "./reconstruct.js";

export interface LoadResult {
  replay: Replay;
  /** Kernel records decoded across all files. */
  events: number;
}

/**
 * Reads every file in order into one reconstruction. An UNSEALED or TAMPERED file is read up to its last
 * authentic frame and marked cut off. Throws UserError from openSession: EXIT.key when no identity opens a
 * file, EXIT.tampered/unsealed/notSession when even its header or metadata frame is unreadable.
 */
export async function loadSessions(paths: readonly string[], identities: readonly string[]): Promise<LoadResult> {
  const keys = new KeyRing(identities);
  const r = new Reconstructor();
  for (const path of paths) {
    const reader = await openSession(path, { identities: keys });
    r.beginSession(path, reader.sessionIdHex, reader.metadata);
    for await (const frame of reader.frames()) {
      for (const rec of frame.records) r.record(rec);
    }
    const verdict = reader.verdict ?? { status: "TAMPERED", reason: "reader stopped without a verdict", framesGood: 0 };
    r.endSession(verdict, reader.finale?.summary);
  }
  return { replay: r.finish(), events: r.events };
}
