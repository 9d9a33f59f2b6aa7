// The exit codes of every command, and the one map from a failure's kind (src/errors.ts) to its code.
import type { ErrorKind, UserError } from "../errors.js";
import type { SessionVerdict } from "../session/verdict.js";

/** Exit codes, one table for every command (documented in the README and `--help`). */
export const EXIT = {
  ok: 0,
  /** A bug: the stack is shown. */
  internal: 1,
  /** Bad flags, a bad runbook or other bad input from the user. */
  usage: 2,
  /** The machine cannot record: not root, no BTF or libbpf, or the kernel refuses a bundle. */
  environment: 3,
  /** A key is wrong or missing: no identity matches the file. */
  key: 4,
  /** The session file is cut short (UNSEALED). */
  unsealed: 5,
  /** The session file was altered (TAMPERED). */
  tampered: 6,
  /** Not a session file at all. */
  notSession: 7,
  /** The disk filled up while recording; what fit was sealed. */
  diskFull: 8,
  /** The recording was interrupted by a second signal or a limit and ended early, but sealed. */
  interrupted: 9,
  /** `hunt --fail-on LEVEL`: a finding at that level or above exists. */
  findings: 10,
} as const;

/** The exit-code table for --help (the README has the same table). */
export const EXIT_TABLE = `
Exit codes:
  0  success (verify: SEALED)
  1  internal error (a bug: a stack trace is printed)
  2  bad usage or bad input (flags, runbook file:line)
  3  this machine cannot record (not root, no BTF or libbpf, or a bundle refused)
  4  no matching key / wrong key
  5  session file cut short (UNSEALED)
  6  session file altered (TAMPERED)
  7  not a sealtrace session file
  8  disk full while recording (what fit was sealed)
  9  recording ended early by a limit or a second signal (sealed)
  10 hunt --fail-on LEVEL: a finding at LEVEL or above
`;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every kind of failure has its code; the compiler checks none is left out. */
const EXIT_BY_KIND: { readonly [K in ErrorKind]: ExitCode } = {
  "bad-input": EXIT.usage,
  "not-permitted": EXIT.environment,
  unsupported: EXIT.environment,
  "io-failed": EXIT.environment,
  "wrong-key": EXIT.key,
  unsealed: EXIT.unsealed,
  tampered: EXIT.tampered,
  "not-a-session": EXIT.notSession,
  "disk-full": EXIT.diskFull,
};

/** The exit code the CLI returns for a user error. */
export function exitCodeOf(e: UserError): ExitCode {
  return EXIT_BY_KIND[e.kind];
}

/** The exit code for a verdict: 0 for SEALED, else the damage's code (what `verify` and `record` return). */
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
