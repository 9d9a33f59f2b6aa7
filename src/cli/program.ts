// The sealtrace command line: wires subcommands to modules, and maps typed errors to exit codes.
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { EXIT, isUserError } from "./errors.js";
import { registerCommands } from "./commands/index.js";

const EXIT_TABLE = `
Exit codes:
  0  success (verify: SEALED)
  1  internal error (a bug: a stack trace is printed)
  2  bad usage or bad input (flags, runbook file:line)
  3  this machine cannot record (not root, no BTF, libbpf or tracepoint missing)
  4  no matching key / wrong key
  5  session file cut short (UNSEALED)
  6  session file altered (TAMPERED)
  7  not a sealtrace session file
  8  disk full while recording (what fit was sealed)
  9  recording ended early by a limit or a second signal (sealed)
`;

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
      process.stderr.write(`sealtrace: ${e.message}\n`);
      if (e.detail) process.stderr.write(`${e.detail.trimEnd()}\n`);
      return e.exitCode;
    }
    process.stderr.write(`sealtrace: internal error (this is a bug, please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.internal;
  }
}
