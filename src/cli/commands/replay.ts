// `sealtrace replay FILE... -i IDENTITY`: offline reconstruction of what ran, talked and wrote (docs/REPLAY.md).
import { closeSync, writeSync } from "node:fs";
import { once } from "node:events";
import type { Command } from "commander";
import { EXIT, UserError } from "../errors.js";
import { createExclusive } from "../../session/outfile.js";
import { readIdentityFile } from "../../session/identity.js";
import { applyFilter, type ReplayFilter } from "../../replay/filter.js";
import { boundHeapGrowth } from "../../replay/heap.js";
import { loadSessions } from "../../replay/load.js";
import { parseViewFormat, renderChunks } from "../../replay/render.js";
import { parseTimeBound } from "../../replay/time.js";

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
  container: string[];
  unit: string[];
  user: string[];
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** A container id or pod UID prefix: hex digits and dashes, lower-cased. */
function containerPrefix(text: string): string {
  if (!/^[0-9a-fA-F-]{1,64}$/.test(text)) throw new UserError(`--container ${JSON.stringify(text)}: give a container id or pod UID prefix (hex digits and dashes)`, EXIT.usage);
  return text.toLowerCase();
}

function integer(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UserError(`${flag} ${text}: expected a whole number up to ${max}`, EXIT.usage);
  return n;
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
    .option("--view <view>", "summary | tree | timeline | connections | files (text format)", "summary")
    .option("--format <format>", "text | json | jsonl | timesketch | html", "text")
    .option("-o, --output <file>", "write here instead of stdout")
    .option("--pid <pid>", "this process, its exec chain and descendants (repeatable)", collect, [])
    .option("--comm <name>", "processes with this comm or executable name (repeatable)", collect, [])
    .option("--since <time>", "from this time: ISO 8601, or +5s from the session start")
    .option("--until <time>", "up to this time: ISO 8601, or +5s from the session start")
    .option("--addr <ip>", "connections to or from this address (repeatable)", collect, [])
    .option("--port <port>", "connections on this port (repeatable)", collect, [])
    .option("--host <name>", "sessions from this hostname or boot id (repeatable)", collect, [])
    .option("--container <id>", "processes in the container (id prefix) or pod (UID prefix) (repeatable)", collect, [])
    .option("--unit <name>", "processes in this systemd unit or scope (repeatable)", collect, [])
    .option("--user <name>", "processes of this user name or uid (repeatable)", collect, [])
    .action(async (files: string[], opts: ReplayOptions) => {
      const { view, format } = parseViewFormat(opts.view, opts.format);
      const identities = (await Promise.all(opts.identity.map((f) => readIdentityFile(f)))).flat();
      boundHeapGrowth();
      const { replay } = await loadSessions(files, identities);
      const startNs = replay.sessions.reduce<bigint | undefined>((m, s) => (s.startNs !== undefined && (m === undefined || s.startNs < m) ? s.startNs : m), undefined) ?? 0n;
      const filter: ReplayFilter = {
        pids: opts.pid.map((p) => integer("--pid", p, 0x3fffffff)),
        comms: opts.comm,
        addrs: opts.addr,
        ports: opts.port.map((p) => integer("--port", p, 65535)),
        hosts: opts.host,
        containers: opts.container.map(containerPrefix),
        units: opts.unit,
        users: opts.user,
        ...(opts.since === undefined ? {} : { sinceNs: parseTimeBound(opts.since, startNs, "--since") }),
        ...(opts.until === undefined ? {} : { untilNs: parseTimeBound(opts.until, startNs, "--until") }),
      };
      const filtered = applyFilter(replay, filter);
      const colour = opts.output === undefined && format === "text" && process.stdout.isTTY === true && !process.env.NO_COLOR;
      await writeChunks(renderChunks(filtered, view, format, colour), opts.output);
      // A cut-off file still gives its readable part, then says so on stderr and in the exit code.
      for (const s of replay.sessions) if (s.cutOff) process.stderr.write(`${s.path}: ${s.status}: ${s.verdictReason}; replayed up to its readable end\n`);
      const worst = replay.sessions.find((s) => s.status === "TAMPERED") ?? replay.sessions.find((s) => s.status === "UNSEALED");
      if (worst) process.exitCode = worst.status === "TAMPERED" ? EXIT.tampered : EXIT.unsealed;
    });
}
