// The failures a user can cause or fix, by kind: every layer throws these, and only the CLI turns a
// kind into an exit code (src/cli/exit-codes.ts), so no library layer depends on the command line.

/**
 * What went wrong, one kind per failure a person acts on differently. Several kinds share an exit code
 * (not root and a kernel too old both exit 3): the code is what a script needs, the kind what code needs.
 */
export type ErrorKind =
  /** Bad flags, a bad runbook, rule file or recipient, a path in the way or unusable: fix the input. */
  | "bad-input"
  /** This process lacks the privileges recording needs (not root, no CAP_BPF and CAP_PERFMON). */
  | "not-permitted"
  /**
   * This machine lacks what recording needs: BTF, libbpf, tracefs, a bundle in this build, or a kernel
   * feature (the kernel refused a program, a map, an attach or an iterator).
   */
  | "unsupported"
  /** The system failed a write, sync or link other than for a full disk, or another process replaced our file. */
  | "io-failed"
  /** A key is wrong, missing, malformed or unreadable: no identity opens the file, or no signing key is found. */
  | "wrong-key"
  /** The session file is cut short (UNSEALED). */
  | "unsealed"
  /** The session file was altered (TAMPERED). */
  | "tampered"
  /** Not a sealtrace session file at all. */
  | "not-a-session"
  /** The disk filled up while recording; what fit was sealed. */
  | "disk-full";

/** An error the user can cause and fix: `message` is one line a tired person can act on, printed with no stack. */
export class UserError extends Error {
  readonly kind: ErrorKind;
  /** Supporting text printed after the one-line message (e.g. the tail of a verifier log). */
  readonly detail: string | undefined;
  constructor(message: string, kind: ErrorKind, options?: { cause?: unknown; detail?: string }) {
    super(message, options);
    this.name = "UserError";
    this.kind = kind;
    this.detail = options?.detail;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
