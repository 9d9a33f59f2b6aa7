// The one-word judgement on a session file (SEALED, UNSEALED, TAMPERED, NOT A SESSION) and its exit code.
import { EXIT, UserError, type ExitCode } from "../cli/errors.js";

export type SessionStatus = "SEALED" | "UNSEALED" | "TAMPERED" | "NOT_A_SESSION";

export interface SessionVerdict {
  readonly status: SessionStatus;
  /** Frames (metadata frame included) that passed every check and can be read. */
  readonly framesGood: number;
  /** TAMPERED only: the first frame that failed, or "header"/"trailer". */
  readonly bad?: number | "header" | "trailer";
  /** One line a tired person can act on. */
  readonly reason: string;
}

/** Thrown inside the scanner and reader to stop at the first damage; never leaves the session module. */
export class SessionDamage extends Error {
  readonly status: Exclude<SessionStatus, "SEALED">;
  readonly bad: number | "header" | "trailer" | undefined;
  constructor(status: Exclude<SessionStatus, "SEALED">, reason: string, bad?: number | "header" | "trailer") {
    super(reason);
    this.name = "SessionDamage";
    this.status = status;
    this.bad = bad;
  }
}

export function damageVerdict(d: SessionDamage, framesGood: number): SessionVerdict {
  return d.bad === undefined
    ? { status: d.status, framesGood, reason: d.message }
    : { status: d.status, framesGood, bad: d.bad, reason: d.message };
}

/** The printed form: NOT_A_SESSION prints as "NOT A SESSION". */
export function statusLabel(status: SessionStatus): string {
  return status === "NOT_A_SESSION" ? "NOT A SESSION" : status;
}

export function verdictExitCode(v: SessionVerdict): ExitCode {
  switch (v.status) {
    case "SEALED":
      return EXIT.ok;
    case "UNSEALED":
      return EXIT.unsealed;
    case "TAMPERED":
      return EXIT.tampered;
    case "NOT_A_SESSION":
      return EXIT.notSession;
  }
}

export function formatVerdict(v: SessionVerdict): string {
  return `${statusLabel(v.status)}: ${v.reason}`;
}

/** For callers that want all-or-nothing: throws a UserError with the verdict's exit code unless SEALED. */
export function assertSealed(v: SessionVerdict, path: string): void {
  if (v.status !== "SEALED") throw new UserError(`${path}: ${formatVerdict(v)}`, verdictExitCode(v));
}
