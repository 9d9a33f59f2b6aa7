// The list of subcommands; each lives in its own file and only orchestrates modules.
import type { Command } from "commander";
import { registerKeygen } from "./keygen.js";
import { registerVerify } from "./verify.js";

export function registerCommands(program: Command): void {
  registerKeygen(program);
  registerVerify(program);
}
