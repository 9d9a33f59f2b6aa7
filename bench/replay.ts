// bench/replay: events/s for verify+decode+reconstruct over a large synthetic session, against a
// baseline measured in the same run: verify+decode alone (reading frames, no reconstruction).
// Two mixes: `churn` (every process lives 9 events: fork, exec, connect with its state changes, a
// retransmit, a file open, exit: entity creation on every few events, the worst case) and `steady`
// (1000 long-lived processes and sockets: retransmits, resets and write flushes, the high-rate bulk).
// Every measurement runs in a fresh child process (its own heap). `--against DIR`: another build's
// replay (DIR/dist, e.g. a `git archive` of an older commit built in /tmp) is measured on the same file,
// alternated with this one, so their ratio holds on a loaded machine.
// `--keep`: the session and its key stay (path printed), e.g. to profile one child:
// node --cpu-prof dist/bench/replay.js child full FILE .
// Usage: node dist/bench/replay.js [events=2000000] [churn|steady] [--against DIR] [--pairs N] [--keep]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { SessionWriter } from "../src/session/writer.js";
import { openSession } from "../src/session/reader.js";
import { EV, FILE_WRITE } from "../src/events/layouts.js";
import * as E from "../test/unit/replay-encode.js";
import { runChild } from "./lib/child.js";

const self = fileURLToPath(import.meta.url);
/** This build's root (dist/..): the default build a child measures. */
const OWN_ROOT = resolve(self, "..", "..", "..");

interface Measured {
  events: number;
  ms: number;
  /** CPU time (user + system, all threads): steadier than wall time on a shared machine. */
  cpuMs: number;
  maxRssMiB: number;
}

async function writeMix(path: string, recipient: string, total: number, mix: "churn" | "steady"): Promise<void> {
  const writer = await SessionWriter.create(path, {
    recipients: [recipient],
    metadata: E.metadata(),
    flushIntervalMs: 3_600_000,
  });
  const parent: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
  let events = 0;
  let t = 1_000_000_000n;
  for (let batch = 0; events < total; batch++) {
    const recs: Uint8Array[] = [];
    if (mix === "steady") {
      for (let i = 0; i < 1800; i++) {
        const n = (batch * 1800 + i) % 1000;
        const id: E.Ident = { tgid: 1000 + n, start: BigInt(n + 1), ppid: 1, comm: "server" };
        const type = i % 3 === 0 ? EV.retransmit : i % 3 === 1 ? EV.sendReset : EV.retransmit;
        recs.push(
          i % 5 === 4
            ? E.rec(FILE_WRITE, EV.fileWrite, t, id, {
                dev: 8n,
                ino: BigInt(n),
                bytes: 100n,
                calls: 1n,
                first_ns: t,
                last_ns: t,
              })
            : E.tcpEvent(type, t, id, BigInt(0x1000 + n), 1, "192.0.2.1", 443, 40000 + n),
        );
        t += 100n;
      }
      events += recs.length;
      writer.append(E.ring("retransmit", t, recs));
      continue;
    }
    for (let i = 0; i < 200; i++) {
      const pid = 1000 + ((batch * 200 + i) % 4_000_000);
      const id: E.Ident = { tgid: pid, start: t, ppid: 1, comm: "worker" };
      const sock = BigInt(0x1000 + i);
      recs.push(
        E.fork(t, parent, pid, t),
        E.exec(t + 10n, id, "/usr/bin/worker", ["worker", "--job", String(i)]),
        E.sockState(t + 20n, { ...id, flags: 1 }, sock, 7, 2, "192.0.2.1", 443, 0),
        E.sockState(t + 30n, { ...id, flags: 1 }, sock, 2, 1, "192.0.2.1", 443, 40000 + i),
        E.connect(t + 40n, id, sock, t + 15n, 0, "192.0.2.1", 443, 40000 + i),
        E.sockState(t + 50n, { ...id, flags: 1 }, sock, 1, 7, "192.0.2.1", 443, 40000 + i),
        E.fileOpen(t + 60n, id, 8n, BigInt(i), `/var/tmp/out-${i}`),
        E.tcpEvent(EV.retransmit, t + 45n, id, sock, 1, "192.0.2.1", 443, 40000 + i),
        E.exit(t + 70n, id, 0),
      );
      t += 100n;
    }
    events += recs.length;
    writer.append(E.ring("exec", t, recs));
  }
  await writer.close({ endReason: "duration" });
}

/** One measurement in this (fresh) process: `baseline` reads frames only; `full` is `root`'s loadSessions. */
async function child(mode: string, path: string, root: string): Promise<Measured> {
  const identity = readFileSync(`${path}.key`, "utf8").trim();
  const url = (rel: string) => pathToFileURL(join(root, "dist", "src", "replay", rel)).href;
  const { boundHeapGrowth } = (await import(url("heap.js"))) as typeof import("../src/replay/heap.js");
  const { loadSessions } = (await import(url("load.js"))) as typeof import("../src/replay/load.js");
  boundHeapGrowth(); // as src/cli/commands/replay.ts does
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let events = 0;
  if (mode === "baseline") {
    const reader = await openSession(path, { identities: [identity] });
    for await (const f of reader.frames()) events += f.records.length;
    if (events === 0) throw new Error("no records");
  } else {
    // The churn mix at 2 M events holds ~667 k entities, past the default --max-entities (500 k): raised, so
    // the whole file is replayed (as `--max-entities 10000000` would), not the part before the limit.
    const { DEFAULT_REPLAY_LIMITS } = (await import(url("load.js"))) as typeof import("../src/replay/load.js");
    events = (await loadSessions([path], [identity], { ...DEFAULT_REPLAY_LIMITS, maxEntities: 10_000_000 })).events;
  }
  const c = process.cpuUsage(c0);
  return {
    events,
    ms: performance.now() - t0,
    cpuMs: (c.user + c.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "child") {
    console.log(JSON.stringify(await child(argv[1]!, argv[2]!, argv[3]!)));
    return;
  }
  const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const positional = argv.filter((a, i) => !a.startsWith("--") && !["--against", "--pairs"].includes(argv[i - 1]!));
  const total = Number(positional[0] ?? 2_000_000);
  const mix = positional[1] === "steady" ? "steady" : "churn";
  const against = option("--against");
  const pairs = Number(option("--pairs") ?? (against ? 3 : 1));
  if (!(total > 0) || !(pairs > 0)) throw new Error("events and --pairs: expected positive numbers");
  const dir = mkdtempSync(join(tmpdir(), "sealtrace-bench-replay-"));
  const path = join(dir, "big.sealed");
  try {
    const identity = await generateX25519Identity();
    writeFileSync(`${path}.key`, identity + "\n", { mode: 0o600 });
    await writeMix(path, await identityToRecipient(identity), total, mix);
    console.log(`mix ${mix}: ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB sealed`);
    console.log("| run | build | events | wall ms | CPU ms | M events/s | x baseline (wall / CPU) | peak RSS |");
    console.log("|---|---|---|---|---|---|---|---|");
    const builds: Array<[string, string]> = [
      ["this", OWN_ROOT],
      ...(against ? [["against", resolve(against)] as [string, string]] : []),
    ];
    for (let pair = 1; pair <= pairs; pair++) {
      const base = JSON.parse(runChild(self, ["child", "baseline", path, OWN_ROOT])) as Measured;
      console.log(
        `| ${pair} | baseline (frames only) | | ${base.ms.toFixed(0)} | ${base.cpuMs.toFixed(0)} | | | ${base.maxRssMiB.toFixed(0)} MiB |`,
      );
      // Alternate which build goes first, so a drift in the machine's pace favours neither.
      for (const [name, root] of pair % 2 === 1 ? builds : [...builds].reverse()) {
        const m = JSON.parse(runChild(self, ["child", "full", path, root])) as Measured;
        console.log(
          `| ${pair} | ${name} (${root}) | ${m.events} | ${m.ms.toFixed(0)} | ${m.cpuMs.toFixed(0)} | ${(m.events / m.ms / 1000).toFixed(2)} | ${(m.ms / base.ms).toFixed(2)} / ${(m.cpuMs / base.cpuMs).toFixed(2)} | ${m.maxRssMiB.toFixed(0)} MiB |`,
        );
      }
    }
  } finally {
    if (argv.includes("--keep")) console.log(`kept ${path} (key in ${path}.key)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
