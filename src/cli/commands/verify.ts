// `sealtrace verify FILE`: keyless custody check; prints the facts and one verdict, exit code per verdict.
import type { Command } from "commander";
import { visible } from "../../replay/text/visible.js";
import { parseSignerPublicKey } from "../../session/signing.js";
import { formatVerdict } from "../../session/verdict.js";
import { formatCreated, verifySession, type VerifyReport } from "../../session/verify.js";
import { openSession } from "../../session/reader.js";
import { readIdentityFile } from "../../session/identity.js";
import { isUserError } from "../../errors.js";
import { verdictExitCode } from "../exit-codes.js";
import { provenanceLines } from "../provenance-text.js";

/** The build that wrote the session sits in the encrypted metadata: printed only when a key opens it. */
async function buildBlock(file: string, identity: string | undefined): Promise<string> {
  if (identity === undefined) return "build:      in the encrypted metadata (add -i IDENTITY to print it)\n";
  try {
    const reader = await openSession(file, { identities: await readIdentityFile(identity) });
    const md = reader.metadata as { build?: unknown } | undefined;
    if (md?.build === undefined)
      return "build:      not recorded (a session written before sealtrace recorded its build)\n";
    return ["build:", ...provenanceLines(md.build, "  ")].join("\n") + "\n";
  } catch (e) {
    if (!isUserError(e)) throw e;
    return `build:      unreadable: ${e.message}\n`;
  }
}

function formatReport(r: VerifyReport): string {
  const signature =
    r.signature === "valid"
      ? `valid, by ${r.signer}`
      : r.signature === "not checked" && r.signer
        ? `not checked (signer ${r.signer})`
        : r.signature;
  const lines = [
    `file:       ${r.path}`,
    `session:    ${r.sessionIdHex ?? "-"}`,
    `created:    ${formatCreated(r.createdUnixMs)}`,
    `frames:     ${r.frames}`,
    `chain:      ${r.chainHashHex ?? "-"}`,
    `sha256:     ${r.fileSha256Hex} (${r.fileBytes} bytes)`,
    `signature:  ${signature}`,
    `verdict:    ${formatVerdict(r.verdict)}`,
  ];
  // The path and the verdict's reason can quote a hostile file: each line is shown through visible().
  return lines.map(visible).join("\n") + "\n";
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("check a session file's integrity and signature without the decryption key")
    .argument("<file>", "session file (or its .partial)")
    .option("--signer <pubkey>", "require an Ed25519 signature by this key (sealtrace-ed25519:…)")
    .option("-i, --identity <file>", "also decrypt the metadata and print which build wrote the session")
    .action(async (file: string, opts: { signer?: string; identity?: string }) => {
      const requiredSigner = opts.signer === undefined ? undefined : parseSignerPublicKey(opts.signer);
      const report = await verifySession(file, requiredSigner ? { requiredSigner } : {});
      process.stdout.write(formatReport(report));
      if (report.verdict.status !== "NOT_A_SESSION") process.stdout.write(await buildBlock(file, opts.identity));
      process.exitCode = verdictExitCode(report.verdict);
    });
}
