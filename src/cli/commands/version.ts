// `sealtrace version [--verbose]`: which build this is; --verbose adds what an examiner needs to name it exactly.
import type { Command } from "commander";
import { VERSION } from "../../version.js";
import { readProvenance } from "../../provenance.js";
import { provenanceLines } from "../provenance-text.js";

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description(
      "print the version; --verbose adds the commit, Node version and SHA-256 of each BPF object and of dist/",
    )
    .option("--verbose", "print the build's provenance (also sealed into every session's metadata)")
    .action(async (opts: { verbose?: boolean }) => {
      if (!opts.verbose) {
        process.stdout.write(`sealtrace ${VERSION}\n`);
        return;
      }
      const lines = [`sealtrace ${VERSION}`, ...provenanceLines(readProvenance(), "")];
      try {
        const { libbpfOrigin } = await import("../../libbpf/native.js");
        lines.push(`libbpf:  ${libbpfOrigin()}`);
      } catch (e) {
        lines.push(`libbpf:  not loadable (${(e as Error).message})`);
      }
      process.stdout.write(lines.join("\n") + "\n");
    });
}
