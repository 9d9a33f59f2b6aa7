// The list of subcommands; each lives in its own file and only orchestrates modules. Only the command
// being run is imported: `record` must not pay for replay's or verify's modules before probes attach.
import type { Command } from "commander";

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  record: async () => (await import("./record.js")).registerRecord,
  runbooks: async () => (await import("./runbooks.js")).registerRunbooks,
  doctor: async () => (await import("./doctor.js")).registerDoctor,
  keygen: async () => (await import("./keygen.js")).registerKeygen,
  verify: async () => (await import("./verify.js")).registerVerify,
  replay: async () => (await import("./replay.js")).registerReplay,
  version: async () => (await import("./version.js")).registerVersion,
  hunt: async () => (await import("./hunt.js")).registerHunt,
};

/** Registers the subcommand named in argv (all of them for help, or an unknown name). */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const name = argv[2];
  const names = name !== undefined && name in COMMANDS ? [name] : Object.keys(COMMANDS);
  for (const n of names) (await COMMANDS[n]!())(program);
}
