// bench/replay: events/s for verify+decode+reconstruct over a large synthetic session, against a
// baseline measured in the same run: verify+decode alone (reading frames, no reconstruction).
// Two mixes: `churn` (every process lives 9 events: fork, exec, connect with its state changes, a
// retransmit, a file open, exit: entity creation on every few events, the worst case) and `steady`
// (1000 long-lived processes and sockets: retransmits, resets and write flushes, the high-rate bulk).
// Usage: node dist/bench/replay.js [events=2000000] [churn|steady]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { SessionWriter } from "../src/session/writer.js";
import { openSession } from "../src/session/reader.js";
import { loadSessions } from "../src/replay/load.js";
import { boundHeapGrowth } from "../src/replay/heap.js";
import { EV, FILE_WRITE } from "../src/events/layouts.js";
import * as E from "../test/unit/replay-encode.js";

const total = Number(process.argv[2] ?? 2_000_000);
const mix = process.argv[3] === "steady" ? "steady" : "churn";
const dir = mkdtempSync(join(tmpdir(), "sealtrace-bench-replay-"));
const path = join(dir, "big.sealed");
const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);

// A realistic mix per process: fork, exec, a connect with two state changes, a file open, exit.
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
const bytes = statSync(path).size;

async function baseline(): Promise<number> {
  const start = performance.now();
  const reader = await openSession(path, { identities: [identity] });
  let n = 0;
  for await (const f of reader.frames()) n += f.records.length;
  if (n === 0) throw new Error("no records");
  return performance.now() - start;
}

async function full(): Promise<{ ms: number; events: number; rssMb: number }> {
  const start = performance.now();
  const r = await loadSessions([path], [identity]);
  return { ms: performance.now() - start, events: r.events, rssMb: process.memoryUsage.rss() / 2 ** 20 };
}

boundHeapGrowth(); // as src/cli/commands/replay.ts does
await baseline();
const baseMs = await baseline();
const run = await full();
const rate = run.events / (run.ms / 1000);
console.log(`mix ${mix}: ${run.events} events, ${(bytes / 2 ** 20).toFixed(1)} MiB sealed`);
console.log(`verify+decrypt+decode frames (baseline): ${baseMs.toFixed(0)} ms`);
console.log(
  `verify+decode+reconstruct:               ${run.ms.toFixed(0)} ms  ${(rate / 1e6).toFixed(2)} M events/s  (${(run.ms / baseMs).toFixed(2)}x baseline)`,
);
console.log(`rss after replay: ${run.rssMb.toFixed(0)} MiB`);
rmSync(dir, { recursive: true, force: true });
