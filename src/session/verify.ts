// Keyless custody check of a session file: structure, chain, trailer, signature and whole-file digest.
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import { bytesToHex } from "@noble/hashes/utils.js";
import { openForScan, SessionScanner } from "./scan.js";
import { encodeSignerPublicKey } from "./signing.js";
import { damageVerdict, SessionDamage, type SessionVerdict } from "./verdict.js";

export interface VerifyReport {
  readonly path: string;
  readonly sessionIdHex: string | undefined;
  readonly createdUnixMs: bigint | undefined;
  /** Frames whose structure and chain hash checked out. */
  readonly frames: number;
  /** Chain hash after the last frame that checked out (the trailer's, for a SEALED file). */
  readonly chainHashHex: string | undefined;
  readonly fileSha256Hex: string;
  readonly fileBytes: number;
  readonly signer: string | undefined;
  readonly signature: "valid" | "invalid" | "unsigned" | "not checked";
  readonly verdict: SessionVerdict;
}

export interface VerifyOptions {
  /** Require an Ed25519 signature by exactly this key. */
  readonly requiredSigner?: Uint8Array;
}

/**
 * Checks a session without any decryption key. Without the key, frame contents are not authenticated:
 * the chain catches damage and, with a signature or off-host checkpoints, deliberate edits.
 * Throws UserError(bad-input) only when the file cannot be opened; every damage is in `verdict`.
 */
export async function verifySession(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { fd, sizeBytes } = await openForScan(path);
  // Frames are only chained here, never kept: one read buffer for all of them.
  const scanner = new SessionScanner(fd, sizeBytes, {
    ...(options.requiredSigner ? { requiredSigner: options.requiredSigner } : {}),
    reuseReads: true,
  });
  let verdict: SessionVerdict;
  let sessionIdHex: string | undefined;
  let createdUnixMs: bigint | undefined;
  let signer: string | undefined;
  let fileSha256Hex: string;
  try {
    const header = await scanner.readHeader();
    sessionIdHex = bytesToHex(header.sessionId);
    createdUnixMs = header.createdUnixMs;
    signer = header.signerPublicKey ? encodeSignerPublicKey(header.signerPublicKey) : undefined;
    for await (const frame of scanner.frames()) void frame;
    const signature = scanner.signatureStatus === "valid" ? "signature valid" : "unsigned";
    verdict = {
      status: "SEALED",
      framesGood: scanner.framesChained,
      reason: `complete: ${scanner.framesChained} frames, chain and trailer agree, ${signature}`,
    };
  } catch (e) {
    if (!(e instanceof SessionDamage)) throw e;
    verdict = damageVerdict(e, scanner.framesChained);
  } finally {
    // Hashed through the descriptor already open: reopening the name could meet another file (or a FIFO).
    fileSha256Hex = fdSha256Hex(fd);
    await scanner.close();
  }
  return {
    path,
    sessionIdHex,
    createdUnixMs,
    frames: scanner.framesChained,
    chainHashHex: scanner.lastChainHash ? bytesToHex(scanner.lastChainHash) : undefined,
    fileSha256Hex,
    fileBytes: sizeBytes,
    signer,
    signature: scanner.signatureStatus,
    verdict,
  };
}

function fdSha256Hex(fd: number): string {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let position = 0; ;) {
    const bytesRead = readSync(fd, buf, 0, buf.length, position);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    position += bytesRead;
  }
  return h.digest("hex");
}

/** Latest time a JS Date can show (ECMA-262 21.4.1.1: ±8.64e15 ms). */
const DATE_MAX_MS = 8_640_000_000_000_000n;

/**
 * The header's `created` as ISO 8601, or a plain statement when it lies outside what a date can show
 * (only a hand-made file has that: the header is keyless to read, so it is shown, not trusted).
 */
export function formatCreated(createdUnixMs: bigint | undefined): string {
  if (createdUnixMs === undefined) return "-";
  if (createdUnixMs > DATE_MAX_MS) return `out of range (${createdUnixMs} ms since 1970; not a time sealtrace writes)`;
  return new Date(Number(createdUnixMs)).toISOString();
}
