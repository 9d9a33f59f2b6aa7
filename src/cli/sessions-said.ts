// What replay and hunt say after their output about the sessions they read: cut-off files and what was
// left out on stderr (session text through visible()), and the exit code a cut-off or altered file gives.
import type { Replay } from "../replay/model.js";
import { visible } from "../replay/text/visible.js";
import { EXIT, type ExitCode } from "./exit-codes.js";

/** The earliest session start among `replay`'s sessions (0 when none has one): what `+5s` times count from. */
export function replayStartNs(replay: Replay): bigint {
  return (
    replay.sessions.reduce<bigint | undefined>(
      (m, s) => (s.startNs !== undefined && (m === undefined || s.startNs < m) ? s.startNs : m),
      undefined,
    ) ?? 0n
  );
}

/**
 * Writes a line per cut-off session ("… ; replayed up to its readable end", `verb` naming the command's
 * work) and each note (skipped frames and records, limits, duplicates: said, never silent). Returns the
 * exit code of the worst session, TAMPERED over UNSEALED, or undefined when all were whole.
 */
export function reportSessions(replay: Replay, notes: readonly string[], verb: string): ExitCode | undefined {
  for (const s of replay.sessions)
    if (s.cutOff && s.status !== "LIMIT")
      process.stderr.write(
        `${visible(`${s.path}: ${s.status}: ${s.verdictReason}`)}; ${verb} up to its readable end\n`,
      );
  for (const n of notes) process.stderr.write(`${visible(n)}\n`);
  const worst =
    replay.sessions.find((s) => s.status === "TAMPERED") ?? replay.sessions.find((s) => s.status === "UNSEALED");
  return worst === undefined ? undefined : worst.status === "TAMPERED" ? EXIT.tampered : EXIT.unsealed;
}
