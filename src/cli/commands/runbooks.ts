// `sealtrace runbooks list | show NAME | validate FILE...`
import type { Command } from "commander";
import { listRunbooks, resolveRunbook } from "../../runbook/catalog.js";
import { loadRunbook } from "../../runbook/runbook.js";
import { formatDuration } from "../../runbook/units.js";

export function registerRunbooks(program: Command): void {
  const rb = program.command("runbooks").description("list, show and validate runbooks");
  rb.command("list")
    .description("the shipped runbooks, with what each is for")
    .action(() => {
      const all = listRunbooks();
      const w = Math.max(...all.map((r) => r.name.length));
      const bw = Math.max(...all.map((r) => r.bundles.join(",").length));
      for (const r of all)
        process.stdout.write(
          `${r.name.padEnd(w)}  ${formatDuration(r.durationMs).padStart(6)}  ${r.bundles.join(",").padEnd(bw)}  ${r.description}\n`,
        );
    });
  rb.command("show")
    .argument("<name>", "a shipped runbook's name, or a runbook file")
    .description("print a runbook")
    .action((name: string) => {
      process.stdout.write(resolveRunbook(name).source.text);
    });
  rb.command("validate")
    .argument("<files...>", "runbook files")
    .description("check runbook files; errors name file:line:col and the rule broken")
    .action((files: string[]) => {
      for (const f of files) {
        const r = loadRunbook(f);
        process.stdout.write(`${f}: ok (${r.name}: ${r.bundles.join(", ")}, ${formatDuration(r.durationMs)})\n`);
      }
    });
}
