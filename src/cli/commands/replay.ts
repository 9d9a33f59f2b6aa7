// `sealtrace replay FILE... -i IDENTITY`: offline reconstruction of what ran, talked and wrote (docs/REPLAY.md).
import { closeSync, writeSync } from "node:fs";
import { once } from "node:events";
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { EXIT } from "../exit-codes.js";
import { replayStartNs, reportSessions } from "../sessions-said.js";
import { createExclusive } from "../../session/outfile.js";
import { readIdentityFile } from "../../session/identity.js";
import { applyFilter, type ReplayFilter } from "../../replay/filter.js";
import { boundHeapGrowth } from "../../replay/heap.js";
import { DEFAULT_REPLAY_LIMITS, loadSessions, type ReplayLimits } from "../../replay/load.js";
import { FRAME_MAX_PLAINTEXT_BYTES } from "../../session/format.js";
import { parseViewFormat, renderChunks, type Focus, type View } from "../../replay/render.js";
import { stateAt } from "../../replay/state.js";
import { matchProcesses, parseProcessSelector, processDetail } from "../../replay/focus.js";
import type { Replay } from "../../replay/model.js";
import { parseTimeBound } from "../../replay/time.js";
import { visible } from "../../replay/text/visible.js";

interface ReplayOptions {
  identity: string[];
  view: string;
  format: string;
  output?: string;
  pid: string[];
  comm: string[];
  since?: string;
  until?: string;
  addr: string[];
  port: string[];
  host: string[];
  maxEvents: string;
  maxEntities: string;
  maxFrameMib: string;
  maxFrameValues: string;
  at?: string;
  all?: boolean;
  container: string[];
  unit: string[];
  user: string[];
  sha256: string[];
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** A container id or pod UID prefix: hex digits and dashes, lower-cased. */
function containerPrefix(text: string): string {
  if (!/^[0-9a-fA-F-]{1,64}$/.test(text))
    throw new UserError(
      `--container ${JSON.stringify(text)}: give a container id or pod UID prefix (hex digits and dashes)`,
      "bad-input",
    );
  return text.toLowerCase();
}

/** A SHA-256 prefix: hex digits, lower-cased. */
function sha256Prefix(text: string): string {
  if (!/^[0-9a-fA-F]{1,64}$/.test(text))
    throw new UserError(`--sha256 ${JSON.stringify(text)}: give a SHA-256 prefix (1 to 64 hex digits)`, "bad-input");
  return text.toLowerCase();
}

function integer(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new UserError(`${flag} ${text}: expected a whole number up to ${max}`, "bad-input");
  return n;
}

const MIB = 1024 * 1024;

/** The --max-* flags over the defaults (docs/REPLAY.md "Limits"). Throws UserError(bad-input) on a bad number. */
function replayLimits(opts: ReplayOptions): ReplayLimits {
  return {
    maxEvents: integer("--max-events", opts.maxEvents, Number.MAX_SAFE_INTEGER),
    maxEntities: integer("--max-entities", opts.maxEntities, Number.MAX_SAFE_INTEGER),
    maxFrameBytes: integer("--max-frame-mib", opts.maxFrameMib, FRAME_MAX_PLAINTEXT_BYTES / MIB) * MIB,
    maxFrameValues: integer("--max-frame-values", opts.maxFrameValues, 0x7fffffff),
  };
}

/**
 * `--view process` (one process, picked by the only --pid) or `--at` (the state then), if asked for.
 * A --pid that names several processes gives the list of them to pick from.
 */
function focusOf(r: Replay, view: View, opts: ReplayOptions, startNs: bigint): Focus | undefined {
  if (opts.at !== undefined) {
    if (view !== "summary") throw new UserError(`--at shows the state at a time: drop --view ${view}`, "bad-input");
    return { kind: "state", state: stateAt(r, parseTimeBound(opts.at, startNs, "--at")) };
  }
  if (view !== "process") return undefined;
  if (opts.pid.length !== 1)
    throw new UserError("--view process needs one --pid: N, N@START or HOST:N:START_NS", "bad-input");
  const selector = opts.pid[0]!;
  const matches = matchProcesses(r, parseProcessSelector(selector));
  if (matches.length === 0) throw new UserError(`--pid ${selector}: no such process in these sessions`, "bad-input");
  return matches.length === 1
    ? { kind: "process", detail: processDetail(r, matches[0]!) }
    : { kind: "matches", selector, matches };
}

/** Chunks are batched to about this size before each write. */
const WRITE_BATCH_CHARS = 1 << 20;

/** Writes rendered text as it is produced, so a large document is never one string in memory. */
async function writeChunks(chunks: Iterable<string>, output: string | undefined): Promise<void> {
  // Never over an existing file, through a planted symlink or into a FIFO.
  const fd = output === undefined ? undefined : createExclusive(output);
  try {
    let batch = "";
    const flush = async (): Promise<void> => {
      if (fd !== undefined) writeSync(fd, batch);
      else if (!process.stdout.write(batch)) await once(process.stdout, "drain"); // a slow reader must not make us buffer it all
      batch = "";
    };
    for (const chunk of chunks) {
      batch += chunk;
      if (batch.length >= WRITE_BATCH_CHARS) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function registerReplay(program: Command): void {
  program
    .command("replay")
    .description("rebuild process trees, connections and file activity from sealed sessions (no root needed)")
    .argument("<files...>", "session files; several merge into one timeline")
    .requiredOption("-i, --identity <file>", "age identity file (repeatable)", collect, [])
    .option(
      "--view <view>",
      "summary | tree | timeline | connections | files (text format) | process (with --pid; text or json)",
      "summary",
    )
    .option("--format <format>", "text | json | jsonl | timesketch | html", "text")
    .option("-o, --output <file>", "write here instead of stdout")
    .option(
      "--pid <pid>",
      "this process, its exec chain and descendants (repeatable); with --view process: N, N@START or HOST:N:START_NS",
      collect,
      [],
    )
    .option("--comm <name>", "processes with this comm or executable name (repeatable)", collect, [])
    .option("--since <time>", "from this time: ISO 8601, or +5s from the session start")
    .option("--until <time>", "up to this time: ISO 8601, or +5s from the session start")
    .option("--addr <ip>", "connections to or from this address (repeatable)", collect, [])
    .option("--port <port>", "connections on this port (repeatable)", collect, [])
    .option("--host <name>", "sessions from this hostname or boot id (repeatable)", collect, [])
    .option(
      "--max-events <n>",
      "stop reading after this many kernel records (all files)",
      String(DEFAULT_REPLAY_LIMITS.maxEvents),
    )
    .option(
      "--max-entities <n>",
      "stop reading once this many processes, connections, files and their lists are kept",
      String(DEFAULT_REPLAY_LIMITS.maxEntities),
    )
    .option(
      "--max-frame-mib <n>",
      "skip a frame that decompresses to more MiB than this",
      String(DEFAULT_REPLAY_LIMITS.maxFrameBytes / MIB),
    )
    .option(
      "--max-frame-values <n>",
      "skip a frame holding more msgpack values than this",
      String(DEFAULT_REPLAY_LIMITS.maxFrameValues),
    )
    .option(
      "--at <time>",
      "the state at this time, like ps and ss then (text or json): ISO 8601, or +5s from the session start",
    )
    .option(
      "--all",
      "text tree, HTML lanes and --at: list kernel threads (and idle snapshot processes) instead of counting them",
    )
    .option("--container <id>", "processes in the container (id prefix) or pod (UID prefix) (repeatable)", collect, [])
    .option("--unit <name>", "processes in this systemd unit or scope (repeatable)", collect, [])
    .option("--user <name>", "processes of this user name or uid (repeatable)", collect, [])
    .option(
      "--sha256 <prefix>",
      "processes that executed a file with this SHA-256 (hex prefix) (repeatable)",
      collect,
      [],
    )
    .action(async (files: string[], opts: ReplayOptions) => {
      const { view, format } = parseViewFormat(opts.view, opts.format);
      const limits = replayLimits(opts);
      const identities = (await Promise.all(opts.identity.map((f) => readIdentityFile(f)))).flat();
      boundHeapGrowth();
      const { replay, notes } = await loadSessions(files, identities, limits);
      const startNs = replayStartNs(replay);
      // The process view picks its process itself: a --pid filter would cut its parents off.
      const focusPid = view === "process" && opts.at === undefined;
      const filter: ReplayFilter = {
        pids: focusPid ? [] : opts.pid.map((p) => integer("--pid", p, 0x3fffffff)),
        comms: opts.comm,
        addrs: opts.addr,
        ports: opts.port.map((p) => integer("--port", p, 65535)),
        hosts: opts.host,
        containers: opts.container.map(containerPrefix),
        units: opts.unit,
        users: opts.user,
        sha256s: opts.sha256.map(sha256Prefix),
        ...(opts.since === undefined ? {} : { sinceNs: parseTimeBound(opts.since, startNs, "--since") }),
        ...(opts.until === undefined ? {} : { untilNs: parseTimeBound(opts.until, startNs, "--until") }),
      };
      const filtered = applyFilter(replay, filter);
      const focus = focusOf(filtered, view, opts, startNs);
      const colour =
        opts.output === undefined && format === "text" && process.stdout.isTTY === true && !process.env.NO_COLOR;
      await writeChunks(
        renderChunks(filtered, view, format, colour, { ...(focus ? { focus } : {}), all: opts.all === true }),
        opts.output,
      );
      if (focus?.kind === "matches") {
        process.stderr.write(
          `sealtrace: --pid ${visible(focus.selector)} names ${focus.matches.length} processes; pick one as listed\n`,
        );
        process.exitCode = EXIT.usage;
      }
      // A cut-off file still gives its readable part, then says so on stderr and in the exit code.
      const cut = reportSessions(replay, notes, "replayed");
      if (cut !== undefined) process.exitCode = cut;
    });
}
