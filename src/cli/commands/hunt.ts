// `sealtrace hunt FILE... -i IDENTITY`: Sigma rules over sealed sessions (docs/HUNT.md).
import { closeSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { EXIT } from "../exit-codes.js";
import { replayStartNs, reportSessions } from "../sessions-said.js";
import { readIdentityFile } from "../../session/identity.js";
import { createExclusive } from "../../session/outfile.js";
import { applyFilter, type ReplayFilter } from "../../replay/filter.js";
import { boundHeapGrowth } from "../../replay/heap.js";
import { loadSessions } from "../../replay/load.js";
import { parseTimeBound } from "../../replay/time.js";
import { terminalText } from "../../replay/text/style.js";
import { huntReplay } from "../../hunt/evaluate.js";
import { renderHuntHtml } from "../../hunt/html.js";
import { renderHuntJson, renderHuntJsonl } from "../../hunt/json.js";
import { buildReport } from "../../hunt/report.js";
import { LEVELS, levelRank, type Level } from "../../hunt/rule.js";
import { BUILTIN_RULES, loadRuleSet } from "../../hunt/ruleset.js";
import { huntTextLines } from "../../hunt/text.js";

interface HuntOptions {
  identity: string[];
  rules: string[];
  builtin: boolean;
  minLevel: string;
  format: string;
  output?: string;
  failOn?: string;
  pid: string[];
  comm: string[];
  since?: string;
  until?: string;
  host: string[];
}

const FORMATS = ["text", "json", "jsonl", "html"] as const;
const collect = (v: string, acc: string[]): string[] => [...acc, v];

function level(flag: string, text: string): Level {
  if (!(LEVELS as readonly string[]).includes(text))
    throw new UserError(`${flag} ${text}: choose one of ${LEVELS.join(", ")}`, "bad-input");
  return text as Level;
}

function pid(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0x3fffffff)
    throw new UserError(`--pid ${text}: expected a whole number up to ${0x3fffffff}`, "bad-input");
  return n;
}

export function registerHunt(program: Command): void {
  program
    .command("hunt")
    .description("run Sigma rules (the built-in pack and your own) over sealed sessions (no root needed)")
    .argument("<files...>", "session files; several merge into one timeline")
    .requiredOption("-i, --identity <file>", "age identity file (repeatable)", collect, [])
    .option("--rules <path>", "a Sigma rule file or a directory of them (repeatable)", collect, [])
    .option("--builtin", "run the built-in rule pack (the default)", true)
    .option("--no-builtin", "do not run the built-in rule pack")
    .option("--min-level <level>", `run only rules at this level or above: ${LEVELS.join(", ")}`, "informational")
    .option("--format <format>", FORMATS.join(" | "), "text")
    .option("-o, --output <file>", "write here instead of stdout")
    .option("--fail-on <level>", `exit ${EXIT.findings} when a finding at this level or above exists`)
    .option("--pid <pid>", "this process, its exec chain and descendants (repeatable)", collect, [])
    .option("--comm <name>", "processes with this comm or executable name (repeatable)", collect, [])
    .option("--since <time>", "from this time: ISO 8601, or +5s from the session start")
    .option("--until <time>", "up to this time: ISO 8601, or +5s from the session start")
    .option("--host <name>", "sessions from this hostname or boot id (repeatable)", collect, [])
    .action(async (files: string[], opts: HuntOptions) => {
      if (!(FORMATS as readonly string[]).includes(opts.format))
        throw new UserError(`--format ${opts.format}: choose one of ${FORMATS.join(", ")}`, "bad-input");
      const minLevel = level("--min-level", opts.minLevel);
      const failOn = opts.failOn === undefined ? undefined : level("--fail-on", opts.failOn);
      const paths = [...(opts.builtin ? [BUILTIN_RULES] : []), ...opts.rules];
      if (paths.length === 0)
        throw new UserError("no rules to run: give --rules DIR|FILE, or leave out --no-builtin", "bad-input");
      // Rules first: a typo in --rules should not wait for a 1 GiB session to be read.
      const set = loadRuleSet(paths, minLevel);
      const identities = (await Promise.all(opts.identity.map((f) => readIdentityFile(f)))).flat();
      boundHeapGrowth();
      const { replay, notes } = await loadSessions(files, identities);
      const startNs = replayStartNs(replay);
      const filter: ReplayFilter = {
        pids: opts.pid.map(pid),
        comms: opts.comm,
        hosts: opts.host,
        ...(opts.since === undefined ? {} : { sinceNs: parseTimeBound(opts.since, startNs, "--since") }),
        ...(opts.until === undefined ? {} : { untilNs: parseTimeBound(opts.until, startNs, "--until") }),
      };
      const filtered = applyFilter(replay, filter);
      const result = huntReplay(filtered, set.rules, set.notEvaluated);
      const { report, ordered } = buildReport(filtered, result, set.belowLevel);
      const colour =
        opts.output === undefined && opts.format === "text" && process.stdout.isTTY === true && !process.env.NO_COLOR;
      const text =
        opts.format === "json"
          ? renderHuntJson(report)
          : opts.format === "jsonl"
            ? renderHuntJsonl(report)
            : opts.format === "html"
              ? renderHuntHtml(filtered, report, ordered)
              : terminalText(huntTextLines(report, files), colour);
      if (opts.output !== undefined) {
        // Never over an existing file or through a planted link (as replay -o).
        const fd = createExclusive(opts.output);
        try {
          writeFileSync(fd, text);
        } finally {
          closeSync(fd);
        }
      } else process.stdout.write(text);
      const cut = reportSessions(replay, notes, "hunted");
      if (cut !== undefined) process.exitCode = cut;
      else if (
        failOn !== undefined &&
        report.findings.some((f) => levelRank(f.rule.level as Level) >= levelRank(failOn))
      )
        process.exitCode = EXIT.findings;
    });
}
