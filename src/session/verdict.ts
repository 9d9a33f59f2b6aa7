// The one-word judgement on a session file (SEALED, UNSEALED, TAMPERED, NOT A SESSION).
import { UserError, type ErrorKind } from "../errors.js";

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

export function formatVerdict(v: SessionVerdict): string {
  return `${statusLabel(v.status)}: ${v.reason}`;
}

/** The error for a session too damaged to open (its header or metadata frame): its kind is the damage's status. */
export function damageError(path: string, d: SessionDamage): UserError {
  return new UserError(`${path}: ${formatVerdict(damageVerdict(d, 0))}`, DAMAGE_KIND[d.status]);
}

const DAMAGE_KIND: { readonly [S in Exclude<SessionStatus, "SEALED">]: ErrorKind } = {
  UNSEALED: "unsealed",
  TAMPERED: "tampered",
  NOT_A_SESSION: "not-a-session",
};
