// The sealtrace command line: wires subcommands to modules, and maps typed errors to exit codes.
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { isUserError } from "../errors.js";
import { EXIT, EXIT_TABLE, exitCodeOf } from "./exit-codes.js";
import { registerCommands } from "./commands/index.js";
import { visible } from "../replay/text/visible.js";

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name("sealtrace")
    .description("eBPF incident-response forensic recorder with sealed, tamper-evident session files")
    .version(VERSION)
    .addHelpText("after", EXIT_TABLE)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  await registerCommands(program, argv);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isUserError(e)) {
      // A message may quote a session, a runbook or a path: shown through visible(), one line each.
      process.stderr.write(`sealtrace: ${visible(e.message)}\n`);
      if (e.detail) process.stderr.write(`${e.detail.trimEnd().split("\n").map(visible).join("\n")}\n`);
      return exitCodeOf(e);
    }
    process.stderr.write(
      `sealtrace: internal error (this is a bug, please report it):\n${(e as Error)?.stack ?? String(e)}\n`,
    );
    return EXIT.internal;
  }
}
