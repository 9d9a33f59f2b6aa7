// `sealtrace doctor`: a table of what recording needs, each row ok or missing; non-zero when it cannot record.
import type { Command } from "commander";
import { BUNDLES, bundleObjectPath } from "../../bundles/registry.js";
import { EXEC_BUNDLE } from "../../bundles/exec.js";
import * as checks from "../../doctor/checks.js";
import { UserError, EXIT } from "../errors.js";

export async function runDoctor(): Promise<checks.Check[]> {
  const rows: checks.Check[] = [checks.checkPrivileges(), checks.checkKernel(), checks.checkBtf(), await checks.checkLibbpf(), checks.checkTracefs(), checks.checkBpffs()];
  for (const b of BUNDLES.values()) rows.push(checks.checkTracepoints(b));
  const canLoad = rows.every((r) => r.ok || r.advisory || r.name.startsWith("tracepoints"));
  rows.push(canLoad ? await checks.checkRingAndIterator(bundleObjectPath(EXEC_BUNDLE), "exec_snapshot") : { name: "ring buffer + iterator", ok: false, detail: "not tried: fix the rows above first" });
  return rows;
}

export function formatDoctor(rows: checks.Check[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => `${r.ok ? "ok     " : r.advisory ? "note   " : "MISSING"}  ${r.name.padEnd(w)}  ${r.detail}`).join("\n");
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check that this machine can record: privileges, BTF, libbpf, tracefs, tracepoints, a trial load")
    .action(async () => {
      const rows = await runDoctor();
      process.stdout.write(`${formatDoctor(rows)}\n`);
      const bad = rows.filter((r) => !r.ok && !r.advisory);
      if (bad.length) {
        for (const r of bad) process.stderr.write(`sealtrace: ${r.name}: ${r.fix ?? r.detail}\n`);
        throw new UserError(`this machine cannot record (${bad.length} problem${bad.length > 1 ? "s" : ""} above)`, EXIT.environment);
      }
    });
}
