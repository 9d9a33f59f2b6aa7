// `sealtrace verify FILE`: keyless custody check; prints the facts and one verdict, exit code per verdict.
import type { Command } from "commander";
import { visible } from "../../replay/text/visible.js";
import { parseSignerPublicKey } from "../../session/signing.js";
import { verdictExitCode, formatVerdict } from "../../session/verdict.js";
import { verifySession, type VerifyReport } from "../../session/verify.js";

function formatReport(r: VerifyReport): string {
  const signature =
    r.signature === "valid" ? `valid, by ${r.signer}` : r.signature === "not checked" && r.signer ? `not checked (signer ${r.signer})` : r.signature;
  const lines = [
    `file:       ${r.path}`,
    `session:    ${r.sessionIdHex ?? "-"}`,
    `created:    ${r.createdUnixMs === undefined ? "-" : new Date(Number(r.createdUnixMs)).toISOString()}`,
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
    .action(async (file: string, opts: { signer?: string }) => {
      const requiredSigner = opts.signer === undefined ? undefined : parseSignerPublicKey(opts.signer);
      const report = await verifySession(file, requiredSigner ? { requiredSigner } : {});
      process.stdout.write(formatReport(report));
      process.exitCode = verdictExitCode(report.verdict);
    });
}
