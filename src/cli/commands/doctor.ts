// `sealtrace doctor`: what recording needs, each row ok or missing, and a trial load of every bundle
// alone and of the runbook's set together; non-zero when a bundle cannot record here.
import type { Command } from "commander";
import { BUNDLES } from "../../bundles/registry.js";
import type { BundleSpec } from "../../bundles/spec.js";
import { resolveRunbook } from "../../runbook/catalog.js";
import * as checks from "../../doctor/checks.js";
import { trialLoad, formatDegradations } from "../../doctor/trial.js";
import { UserError, isUserError } from "../../errors.js";
import { EXIT, exitCodeOf } from "../exit-codes.js";

/**
 * The rows: environment first, then one `bundle NAME` row per bundle (a trial load of it alone), then
 * `together` (the set loaded at once, as record loads it: shared maps and the connect→filewrite
 * sys_exit tail call). `set` defaults to every bundle.
 */
export async function runDoctor(set: readonly BundleSpec[] = [...BUNDLES.values()]): Promise<checks.Check[]> {
  const env = await checks.environmentChecks();
  const rows: checks.Check[] = [...env];
  const canLoad = env.every((r) => r.ok || r.advisory);
  let allLoaded = canLoad;
  for (const b of set) {
    if (!canLoad) {
      rows.push({ name: `bundle ${b.name}`, ok: false, detail: "not tried: fix the rows above first" });
      continue;
    }
    const row = await trialRow(`bundle ${b.name}`, [b]);
    allLoaded &&= row.ok;
    rows.push(row);
  }
  if (set.length > 1) {
    const name = "together";
    rows.push(
      allLoaded
        ? await trialRow(name, set)
        : {
            name,
            ok: false,
            detail: `not tried: ${canLoad ? "a bundle above is refused" : "fix the rows above first"}`,
          },
    );
  }
  return rows;
}

async function trialRow(name: string, set: readonly BundleSpec[]): Promise<checks.Check> {
  try {
    const degraded = [...(await trialLoad(set)).values()].flat();
    const what =
      set.length > 1
        ? set.map((b) => b.name).join(" + ")
        : `${set[0]!.tracepoints.length} tracepoint${set[0]!.tracepoints.length > 1 ? "s" : ""}`;
    return degraded.length
      ? { name, ok: true, degraded: true, detail: `loaded, ${what}; degraded: ${formatDegradations(degraded)}` }
      : { name, ok: true, detail: `loaded, attached, started (${what})` };
  } catch (e) {
    if (!isUserError(e) || exitCodeOf(e) !== EXIT.environment) throw e;
    // The message is the line record fails with: "bundle NAME: missing feature".
    return {
      name,
      ok: false,
      detail: set.length > 1 ? e.message : e.message.replace(/^bundle [a-z]+: /, ""),
      line: e.message,
    };
  }
}

export function formatDoctor(rows: checks.Check[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  const status = (r: checks.Check) =>
    r.ok ? (r.degraded ? "degraded" : "ok      ") : r.advisory ? "note    " : "MISSING ";
  return rows.map((r) => `${status(r)}  ${r.name.padEnd(w)}  ${r.detail}`).join("\n");
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      "check that this machine can record: privileges, BTF, libbpf, tracefs, and a trial load of every bundle",
    )
    .option("--runbook <name|file>", "load this runbook's bundles together (default: every bundle)")
    .action(async (flags: { runbook?: string }) => {
      const set = flags.runbook
        ? [...BUNDLES.values()].filter((b) => resolveRunbook(flags.runbook!).bundles.includes(b.name))
        : undefined;
      const rows = await runDoctor(set);
      process.stdout.write(`${formatDoctor(rows)}\n`);
      const bad = rows.filter((r) => !r.ok && !r.advisory && !r.detail.startsWith("not tried"));
      if (bad.length) {
        for (const r of bad) process.stderr.write(`sealtrace: ${checks.problemLine(r)}\n`);
        throw new UserError(
          `this machine cannot record (${bad.length} problem${bad.length > 1 ? "s" : ""} above)`,
          checks.problemKind(bad[0]!),
        );
      }
    });
}
