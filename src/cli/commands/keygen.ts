// `sealtrace keygen`: makes an age identity (default) or an Ed25519 signing key, and prints the public half.
import { closeSync, writeSync } from "node:fs";
import type { Command } from "commander";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { createExclusive } from "../../session/outfile.js";
import { encodeSignerPublicKey, encodeSigningKeyFile, generateSigningKey } from "../../session/signing.js";

async function makeKeyFile(signing: boolean, now: Date): Promise<{ text: string; publicKey: string }> {
  if (signing) {
    const key = generateSigningKey();
    return { text: encodeSigningKeyFile(key, now), publicKey: encodeSignerPublicKey(key.publicKey) };
  }
  const identity = await generateX25519Identity();
  const publicKey = await identityToRecipient(identity);
  // The same three lines age-keygen writes, so either tool reads the other's files.
  return { text: `# created: ${now.toISOString()}\n# public key: ${publicKey}\n${identity}\n`, publicKey };
}

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("make an age identity (or with --signing an Ed25519 signing key) and print its public key")
    .option("-o, --output <file>", "write the key here (mode 0600, never overwritten) instead of stdout")
    .option("--signing", "make a signing key for sealing custody signatures instead of an age identity")
    .action(async (opts: { output?: string; signing?: boolean }) => {
      const { text, publicKey } = await makeKeyFile(opts.signing === true, new Date());
      if (opts.output === undefined) {
        process.stdout.write(text);
        process.stderr.write(`Public key: ${publicKey}\n`);
        return;
      }
      const fd = createExclusive(opts.output);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      process.stdout.write(`${publicKey}\n`);
    });
}
