// The list of subcommands; each lives in its own file and only orchestrates modules.
import type { Command } from "commander";

export function registerCommands(program: Command): void {
  void program;
}
