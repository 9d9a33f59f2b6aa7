// What a failure inside typage (age-encryption) means. Its errors carry no class or code (plain `Error`s in
// 0.3.1), so the one failure the envelope must tell apart, no identity matching the file, is known by its
// wording: here only. test/unit/age-failure.test.ts makes typage fail each way and fails if the wording changes.

const NO_IDENTITY_MATCHED = /no identity matched/i;

/**
 * Why typage's decrypt of an envelope failed: `no-match` when none of the identities opens it (a wrong or
 * missing key), `malformed` for anything else (a header, stanza or MAC that only a forged file can have).
 */
export function decryptFailure(e: unknown): "no-match" | "malformed" {
  return e instanceof Error && NO_IDENTITY_MATCHED.test(e.message) ? "no-match" : "malformed";
}
