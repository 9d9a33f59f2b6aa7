// Keyless custody check of a session file: structure, chain, trailer, signature and whole-file digest.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
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
 * Throws UserError(usage) only when the file cannot be opened; every damage is in `verdict`.
 */
export async function verifySession(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { fd, sizeBytes } = await openForScan(path);
  const scanner = new SessionScanner(fd, sizeBytes, options.requiredSigner ? { requiredSigner: options.requiredSigner } : {});
  let verdict: SessionVerdict;
  let sessionIdHex: string | undefined;
  let createdUnixMs: bigint | undefined;
  let signer: string | undefined;
  try {
    const header = await scanner.readHeader();
    sessionIdHex = bytesToHex(header.sessionId);
    createdUnixMs = header.createdUnixMs;
    signer = header.signerPublicKey ? encodeSignerPublicKey(header.signerPublicKey) : undefined;
    for await (const frame of scanner.frames()) void frame;
    const signature = scanner.signatureStatus === "valid" ? "signature valid" : "unsigned";
    verdict = { status: "SEALED", framesGood: scanner.framesChained, reason: `complete: ${scanner.framesChained} frames, chain and trailer agree, ${signature}` };
  } catch (e) {
    if (!(e instanceof SessionDamage)) throw e;
    verdict = damageVerdict(e, scanner.framesChained);
  } finally {
    await scanner.close();
  }
  return {
    path,
    sessionIdHex,
    createdUnixMs,
    frames: scanner.framesChained,
    chainHashHex: scanner.lastChainHash ? bytesToHex(scanner.lastChainHash) : undefined,
    fileSha256Hex: fileSha256Hex(path),
    fileBytes: sizeBytes,
    signer,
    signature: scanner.signatureStatus,
    verdict,
  };
}

function fileSha256Hex(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const bytesRead = readSync(fd, buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
