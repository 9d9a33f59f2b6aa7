// `sealtrace record`: resolve the runbook and answers (flags, or prompts on a TTY), record, seal, report.
import { statSync, existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { resolveRunbook, listRunbooks } from "../../runbook/catalog.js";
import { parseDurationMs, formatBytes, formatDuration } from "../../runbook/units.js";
import { BUNDLES } from "../../bundles/registry.js";
import type { BundleSpec, Filters } from "../../bundles/spec.js";
import { resolveRecipients } from "../recipients.js";
import { cgroup2Root } from "../../recorder/cgroups.js";
import { record, type RecordResult } from "../../recorder/recorder.js";
import { environmentChecks, problemKind, problemLine } from "../../doctor/checks.js";
import { UserError } from "../../errors.js";
import { EXIT, EXIT_TABLE, verdictExitCode } from "../exit-codes.js";
import type { VerifyReport } from "../../session/verify.js";
import { formatVerdict } from "../../session/verdict.js";
import { StatusLine } from "../status.js";
import { describePath, existsError } from "../../session/outfile.js";
import * as prompts from "../prompts.js";
import { RUNBOOK_LIMITS, type Runbook } from "../../runbook/runbook.js";

interface RecordFlags {
  runbook?: string;
  recipient: string[];
  recipientsFile: string[];
  out?: string;
  duration?: string;
  pid?: string;
  cgroup?: string;
  comm?: string;
  incident?: string;
  signKey?: string;
  yes?: boolean;
  quiet?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRecord(program: Command): void {
  program
    .command("record")
    .description("record a sealed session with a runbook (asks on a TTY for anything missing; --yes runs unattended)")
    .option("--runbook <name|file>", "a shipped runbook name (see `runbooks list`) or a runbook file")
    .option("-r, --recipient <age1…>", "seal to this public key (repeatable)", collect, [])
    .option("-R, --recipients-file <file>", "seal to every key in this file (repeatable)", collect, [])
    .option("-o, --out <file>", "session file to write (default: ./sealtrace-HOST-RUNBOOK-TIME.sealed)")
    .option("--duration <time>", "override the runbook's duration (e.g. 30s, 5m)")
    .option("--pid <pid>", "follow this process and its descendants")
    .option("--cgroup <path|id>", "only this cgroup (v2 path or id)")
    .option("--comm <name>", "only processes whose comm starts with this")
    .option("--incident <id>", "incident id for the chain of custody")
    .option("--sign-key <file>", "sign the session with this key (sealtrace keygen --signing)")
    .option("-y, --yes", "unattended: do not ask, do not confirm")
    .addOption(new Option("-q, --quiet", "no status line"))
    .addHelpText("after", EXIT_TABLE)
    .action(async (flags: RecordFlags) => {
      process.exitCode = await runRecord(flags);
    });
}

function missing(flag: string, what: string): never {
  throw new UserError(`${what}: pass ${flag} (no terminal to ask on)`, "bad-input");
}

/** Resolves a cgroup v2 path (or a numeric id) to its id: the cgroup directory's inode number. */
function cgroupId(spec: string): bigint {
  if (/^\d+$/.test(spec)) return BigInt(spec);
  // Relative to the cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host, where /sys/fs/cgroup/X is a v1 tree.
  const root = cgroup2Root() ?? "/sys/fs/cgroup";
  const path = spec.startsWith("/sys/fs/cgroup") ? spec : `${root}${spec.startsWith("/") ? "" : "/"}${spec}`;
  if (!existsSync(path)) throw new UserError(`cgroup ${spec} does not exist (looked at ${path})`, "bad-input");
  return BigInt(statSync(path, { bigint: true }).ino);
}

function positiveInt(v: string, flag: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UserError(`${flag} takes a positive integer, not '${v}'`, "bad-input");
  return Number(v);
}

async function runRecord(flags: RecordFlags): Promise<number> {
  const interactive = !flags.yes && prompts.isInteractive();

  // 1. The runbook.
  let runbook: Runbook;
  if (flags.runbook) runbook = resolveRunbook(flags.runbook);
  else if (interactive) runbook = await prompts.pickRunbook(listRunbooks());
  else missing("--runbook NAME|FILE", "no runbook chosen");

  // 2. Filters: flags override the runbook.
  const filters: Filters = {
    ports: runbook.filters.ports,
    addresses: runbook.filters.addresses,
    allFileTypes: runbook.filters.allFileTypes,
  };
  const pid = flags.pid !== undefined ? positiveInt(flags.pid, "--pid") : runbook.filters.pid;
  if (pid !== undefined) filters.pid = pid;
  const comm = flags.comm ?? runbook.filters.comm;
  if (comm !== undefined) {
    if (Buffer.byteLength(comm) > 15)
      throw new UserError("--comm is at most 15 bytes (the kernel's comm length)", "bad-input");
    filters.comm = comm;
  }
  const cgroup = flags.cgroup ?? runbook.filters.cgroup;
  if (cgroup !== undefined) filters.cgroupId = cgroupId(cgroup);
  if (runbook.filters.uid !== undefined) filters.uid = runbook.filters.uid;
  if (runbook.prompts.target && filters.pid === undefined) {
    if (interactive) filters.pid = await prompts.pickProcess();
    else missing("--pid PID", `runbook '${runbook.name}' follows one process`);
  }
  if (filters.pid !== undefined && !existsSync(`/proc/${filters.pid}`))
    throw new UserError(`process ${filters.pid} does not exist`, "bad-input");

  // 3. Duration.
  let durationMs = runbook.durationMs;
  if (flags.duration !== undefined) {
    const d = parseDurationMs(flags.duration);
    if (d === undefined || d < 100 || d > RUNBOOK_LIMITS.durationMs)
      throw new UserError(
        `--duration takes a time from 100ms to 168h, like 30s, 5m or 1h, not '${flags.duration.slice(0, 40)}'`,
        "bad-input",
      );
    durationMs = d;
  }

  // 4. Recipients.
  let { recipients, source } = resolveRecipients({
    flags: flags.recipient,
    files: flags.recipientsFile,
    runbook: runbook.recipients,
  });
  if (recipients.length === 0) {
    if (interactive) {
      recipients = [await prompts.askRecipient()];
      source = "prompt";
    } else missing("-r age1… (or -R FILE, or set SEALTRACE_RECIPIENTS)", "no recipient to seal the session to");
  }

  // 5. Incident id.
  let incident = flags.incident;
  if (incident === undefined && runbook.prompts.incident && interactive)
    incident = (await prompts.askIncident()) || undefined;

  // 6. Bundles: following a pid needs the bundles whose fork probe extends the followed set (exec).
  const names = new Set(runbook.bundles);
  if (filters.pid !== undefined) for (const b of BUNDLES.values()) if (b.followsForks) names.add(b.name);
  for (const n of names) {
    if (!BUNDLES.has(n))
      throw new UserError(`bundle '${n}' is not available in this build of sealtrace`, "unsupported");
  }
  // Registry order, exec first: the loader brings the first bundle live before the others.
  const bundles: BundleSpec[] = [...BUNDLES.values()].filter((b) => names.has(b.name));

  const out = resolve(
    flags.out ??
      `sealtrace-${hostname()}-${runbook.name}-${new Date().toISOString().replace(/[:.]/g, "").slice(0, 15)}Z.sealed`,
  );
  // Checked again, with the names claimed for good, just before the probes attach (SessionFiles.claim).
  const there = describePath(out);
  if (there) throw existsError(out, there);

  const summary = `runbook ${runbook.name}: ${bundles.map((b) => b.name).join(", ")} for ${formatDuration(durationMs)}${filters.pid ? `, following pid ${filters.pid}` : ""}${filters.comm ? `, comm ${filters.comm}` : ""}\n  sealed to ${recipients.length} recipient${recipients.length > 1 ? "s" : ""} (${source}) → ${out}`;
  if (interactive && !(await prompts.confirmStart(summary))) {
    process.stderr.write("sealtrace: not started\n");
    return EXIT.ok;
  }

  // 7. doctor's checks, before anything is created, failing with doctor's line. The bundles' trial load
  // is the real load in record(): its refusal is the same `bundle NAME: missing feature` line.
  const bad = (await environmentChecks()).find((c) => !c.ok && !c.advisory);
  if (bad) throw new UserError(problemLine(bad), problemKind(bad));

  // 8. Record. The first SIGINT/SIGTERM/SIGHUP ends and seals; a second one seals faster.
  const stop = new AbortController();
  const hurry = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      process.stderr.write(`\nsealtrace: ${sig}: stopping and sealing (again to hurry)\n`);
      stop.abort(sig);
    } else hurry.abort(sig);
  };
  const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of sigs) process.on(s, onSignal);
  const status = new StatusLine();
  if (!flags.quiet) process.stderr.write(`sealtrace: ${summary}\n`);
  let result: RecordResult;
  try {
    result = await record({
      runbook,
      bundles,
      filters,
      out,
      recipients,
      durationMs,
      signal: stop.signal,
      hurry: hurry.signal,
      ...((flags.signKey ?? runbook.signingKey)
        ? { signingKey: readSigningKey(flags.signKey ?? runbook.signingKey!) }
        : {}),
      ...(incident ? { incident } : {}),
      onAttached: (ms, live) => {
        const each = live.length > 1 ? ` (${live.map((b) => `${b.name} ${b.attachedMs.toFixed(0)}`).join(", ")})` : "";
        if (!flags.quiet)
          process.stderr.write(
            `sealtrace: probes attached in ${ms.toFixed(0)} ms${each}; recording (Ctrl-C stops and seals)\n`,
          );
      },
      ...(flags.quiet ? {} : { onStatus: (s) => status.update(s) }),
      // Shown even with --quiet: evidence is at risk.
      onWarning: (text) => status.note(text),
      // Periodic chain hashes, so an operator can anchor them off the host (docs/FORMAT.md).
      onCheckpoint: (i, h) => {
        if (!flags.quiet && i % 10 === 0) status.note(`sealtrace: checkpoint frame ${i} chain ${h}`);
      },
    });
  } finally {
    status.end();
    for (const s of sigs) process.off(s, onSignal);
  }
  // The verdict printed is the keyless check of the file on disk, not an assumption.
  const { verifySession } = await import("../../session/verify.js");
  const custody = await verifySession(result.close.path);
  printReport(result, custody, out);
  if (custody.verdict.status !== "SEALED") return verdictExitCode(custody.verdict);
  // Ended before its duration by a runbook limit, or hurried by a second signal: sealed, but say so.
  if (result.endReason === "max-events" || result.endReason === "max-bytes") return EXIT.interrupted;
  if (result.endReason === "signal" && hurry.signal.aborted) return EXIT.interrupted;
  return EXIT.ok;
}

function readSigningKey(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UserError(
      `cannot read signing key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "wrong-key",
    );
  }
}

/** The losses line: every non-zero counter the session's summary holds, per bundle, or "none". */
export function formatLosses(losses: RecordResult["losses"]): string {
  const parts: string[] = [];
  for (const [bundle, c] of Object.entries(losses)) {
    const each = [
      c.ringFull ? `ring full ${c.ringFull}` : "",
      c.mapFull ? `map full ${c.mapFull}` : "",
      c.recursionMisses ? `recursion ${c.recursionMisses}` : "",
      c.readFail ? `read failures ${c.readFail}` : "",
      c.dropped ? `dropped by limit ${c.dropped}` : "",
    ].filter(Boolean);
    if (each.length) parts.push(`${bundle}: ${each.join(", ")}`);
  }
  return parts.length ? parts.join("; ") : "none";
}

function printReport(r: RecordResult, custody: VerifyReport, out: string): void {
  const lines = [
    ``,
    `sealed:    ${r.close.path}`,
    `verdict:   ${formatVerdict(custody.verdict)}  end: ${r.endReason}${r.endDetail ? ` (${r.endDetail})` : ""}`,
    `sha256:    ${custody.fileSha256Hex}`,
    `session:   ${r.close.sessionIdHex}  frames ${r.close.frames}  ${formatBytes(r.close.bytes)}`,
    `chain:     ${r.close.finalChainHashHex}`,
    `attach:    ${r.attachMs.toFixed(0)} ms`,
    `events:    ${
      Object.entries(r.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none"
    }`,
    `losses:    ${formatLosses(r.losses)}`,
    ...r.partialDeleted.map(
      (d) =>
        `WARNING:   ${d.deletedPath} was deleted by another process during recording; ${d.restored ? `restored from the open file to ${d.restored.partialPath}` : `not restored (${d.error})`}`,
    ),
    ``,
    `verify:    sealtrace verify ${out}`,
    `replay:    sealtrace replay ${out} -i IDENTITY_FILE`,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
