// Session file throughput: seal and open+decode, small objects and bulk raw ring records, against a msgpack+zstd baseline.
// Run: npx tsc -p . && node dist/bench/seal.js [--events N]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { SessionWriter } from "../src/session/writer.js";
import { openSession } from "../src/session/reader.js";
import { compressBody, decodeBody, encodeRecord } from "../src/session/body.js";

const RAW_RECORD_BYTES = 64;
const RECORDS_PER_BLOB = 256;

interface Workload {
  readonly name: string;
  readonly events: number;
  /** Appends everything to `sink`; returns plaintext bytes handed over. */
  produce(sink: (record: unknown) => void): number;
  /** Events carried by one decoded record, touching each the way a decoder would. */
  count(record: unknown): number;
}

function smallObjects(events: number): Workload {
  return {
    name: "small objects",
    events,
    produce(sink) {
      const make = (i: number) => ({
        k: "exec",
        tsNs: 1_700_000_000_000_000_000n + BigInt(i),
        pid: 1000 + (i & 1023),
        tgid: 1000 + (i & 1023),
        comm: "bash",
        ret: 0,
      });
      // Every record encodes to the same msgpack size, so one sample gives the plaintext volume.
      const recordBytes = encodeRecord(make(0)).length;
      for (let i = 0; i < events; i++) sink(make(i));
      return events * recordBytes;
    },
    count: () => 1,
  };
}

/** 64-byte fixed-layout records like the kernel's: type, boot ns, tgid, pid, start time, cgroup, comm. */
function bulkRing(events: number): Workload {
  const blobs = Math.ceil(events / RECORDS_PER_BLOB);
  return {
    name: "bulk 64 B ring records",
    events: blobs * RECORDS_PER_BLOB,
    produce(sink) {
      let ts = 5_000_000_000n;
      for (let b = 0; b < blobs; b++) {
        const d = new Uint8Array(RECORDS_PER_BLOB * RAW_RECORD_BYTES);
        const view = new DataView(d.buffer);
        for (let i = 0; i < RECORDS_PER_BLOB; i++) {
          const o = i * RAW_RECORD_BYTES;
          const pid = 2000 + ((b * 7 + i) % 300);
          ts += BigInt(900 + (i % 200));
          view.setUint32(o, 1, true);
          view.setBigUint64(o + 8, ts, true);
          view.setUint32(o + 16, pid, true);
          view.setUint32(o + 20, pid, true);
          view.setBigUint64(o + 24, 1_000_000n + BigInt(pid), true);
          view.setBigUint64(o + 32, 4242n, true);
          d.set([0x62, 0x61, 0x73, 0x68], o + 40);
        }
        sink({ k: "ring", b: "exec", d });
      }
      return blobs * RECORDS_PER_BLOB * RAW_RECORD_BYTES;
    },
    count(record) {
      const d = (record as { d: Uint8Array }).d;
      const view = new DataView(d.buffer, d.byteOffset, d.length);
      let n = 0;
      for (let o = 0; o < d.length; o += RAW_RECORD_BYTES) n += view.getUint32(o + 16, true) > 0 ? 1 : 0;
      return n;
    },
  };
}

interface Rates {
  readonly eventsPerS: number;
  readonly mbPerS: number;
}

function rates(events: number, bytes: number, ms: number): Rates {
  return { eventsPerS: events / (ms / 1000), mbPerS: bytes / 1e6 / (ms / 1000) };
}

/** msgpack + zstd of the same frames, no AEAD, chain, key ratchet or I/O: what sealing adds is measured against this. */
function baseline(w: Workload, flushBytes: number): Rates {
  const t0 = performance.now();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let records = 0;
  const frames: Uint8Array[] = [];
  const plainBytes = w.produce((r) => {
    pending.push(encodeRecord(r).slice());
    pendingBytes += pending.at(-1)!.length;
    if (pendingBytes >= flushBytes) {
      frames.push(compressBody(Buffer.concat(pending)));
      pending = [];
      pendingBytes = 0;
    }
  });
  if (pending.length) frames.push(compressBody(Buffer.concat(pending)));
  for (const f of frames) for (const r of decodeBody(f)) records += w.count(r);
  if (records !== w.events) throw new Error("baseline lost events");
  return rates(w.events, plainBytes, performance.now() - t0);
}

async function run(w: Workload, dir: string, recipient: string, identity: string): Promise<void> {
  const flushBytes = 1024 * 1024;
  const path = join(dir, `${w.name.replace(/\W+/g, "-")}.sealtrace`);
  rmSync(path, { force: true });
  const t0 = performance.now();
  const writer = await SessionWriter.create(path, {
    recipients: [recipient],
    metadata: { bench: w.name },
    flushBytes,
    reserveBytes: 0,
  });
  const plainBytes = w.produce((r) => writer.append(r));
  await writer.close({ endReason: "bench" });
  const sealMs = performance.now() - t0;
  const fileBytes = statSync(path).size;

  const t1 = performance.now();
  const reader = await openSession(path, { identities: [identity] });
  let events = 0;
  for await (const frame of reader.frames()) for (const r of frame.records) events += w.count(r);
  const openMs = performance.now() - t1;
  if (events !== w.events || reader.verdict?.status !== "SEALED")
    throw new Error(`read back ${events} of ${w.events} events, ${reader.verdict?.status}`);

  const seal = rates(w.events, plainBytes, sealMs);
  const open = rates(w.events, plainBytes, openMs);
  const base = baseline(w, flushBytes);
  const f = (n: number) => (n / 1e6).toFixed(2);
  console.log(
    `${w.name}: ${w.events.toLocaleString("en-US")} events, ${(plainBytes / 1e6).toFixed(1)} MB plaintext -> ${(fileBytes / 1e6).toFixed(1)} MB file`,
  );
  console.log(`  seal         ${f(seal.eventsPerS)} M events/s  ${seal.mbPerS.toFixed(0)} MB/s`);
  console.log(`  open+decode  ${f(open.eventsPerS)} M events/s  ${open.mbPerS.toFixed(0)} MB/s`);
  console.log(
    `  baseline     ${f(base.eventsPerS)} M events/s (msgpack+zstd both ways, no crypto/I/O); seal+open vs baseline: ${((1 / seal.eventsPerS + 1 / open.eventsPerS) / (1 / base.eventsPerS)).toFixed(2)}x time`,
  );
  rmSync(path, { force: true });
}

const argIndex = process.argv.indexOf("--events");
const events = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 2_000_000;
const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);
const dir = mkdtempSync(join(tmpdir(), "sealtrace-bench-"));
try {
  console.log(`bench/seal on node ${process.version}, file in ${dir}`);
  // Warm-up so the JIT has seen every path before timing.
  await run(smallObjects(100_000), dir, recipient, identity);
  await run(bulkRing(400_000), dir, recipient, identity);
  console.log("---");
  await run(smallObjects(events), dir, recipient, identity);
  await run(bulkRing(events * 4), dir, recipient, identity);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
