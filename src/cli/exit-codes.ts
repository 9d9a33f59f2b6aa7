// Typed user errors: one line a tired person can act on, and the exit code the CLI returns.

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

/** An error the user can cause and fix. The CLI prints `message` alone, no stack, and exits with `exitCode`. */
export class UserError extends Error {
  readonly exitCode: ExitCode;
  /** Supporting text printed after the one-line message (e.g. the tail of a verifier log). */
  readonly detail: string | undefined;
  constructor(message: string, exitCode: ExitCode = EXIT.usage, options?: { cause?: unknown; detail?: string }) {
    super(message, options);
    this.name = "UserError";
    this.exitCode = exitCode;
    this.detail = options?.detail;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
