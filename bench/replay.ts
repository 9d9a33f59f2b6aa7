// bench/replay: events/s for verify+decode+reconstruct over a large synthetic session, against a
// baseline measured in the same run: verify+decode alone (reading frames, no reconstruction).
// Usage: node dist/bench/replay.js [events=2000000]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { SessionWriter } from "../src/session/writer.js";
import { openSession } from "../src/session/reader.js";
import { loadSessions } from "../src/replay/load.js";
import { EV } from "../src/events/layouts.js";
import * as E from "../test/unit/replay-encode.js";

const total = Number(process.argv[2] ?? 2_000_000);
const dir = mkdtempSync(join(tmpdir(), "sealtrace-bench-replay-"));
const path = join(dir, "big.sealed");
const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);

// A realistic mix per process: fork, exec, a connect with two state changes, a file open, exit.
const writer = await SessionWriter.create(path, { recipients: [recipient], metadata: E.metadata(), flushIntervalMs: 3_600_000 });
const parent: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
let events = 0;
let t = 1_000_000_000n;
for (let batch = 0; events < total; batch++) {
  const recs: Uint8Array[] = [];
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

await baseline();
const baseMs = await baseline();
const run = await full();
const rate = run.events / (run.ms / 1000);
console.log(`session: ${run.events} events, ${(bytes / 2 ** 20).toFixed(1)} MiB sealed`);
console.log(`verify+decrypt+decode frames (baseline): ${baseMs.toFixed(0)} ms`);
console.log(`verify+decode+reconstruct:               ${run.ms.toFixed(0)} ms  ${(rate / 1e6).toFixed(2)} M events/s  (${(run.ms / baseMs).toFixed(2)}x baseline)`);
console.log(`rss after replay: ${run.rssMb.toFixed(0)} MiB`);
rmSync(dir, { recursive: true, force: true });
