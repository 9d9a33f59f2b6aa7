// The list of subcommands; each lives in its own file and only orchestrates modules.
import type { Command } from "commander";
import { registerKeygen } from "./keygen.js";
import { registerVerify } from "./verify.js";
import { registerDoctor } from "./doctor.js";
import { registerRunbooks } from "./runbooks.js";
import { registerRecord } from "./record.js";
import { registerReplay } from "./replay.js";

export function registerCommands(program: Command): void {
  registerRecord(program);
  registerRunbooks(program);
  registerDoctor(program);
  registerKeygen(program);
  registerVerify(program);
  registerReplay(program);
}
