// The mmap ring reader against a real BPF producer: exact delivery, intact payloads, exact loss accounting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { BpfObject } from "../../src/libbpf/object.js";
import { RingReader, forEachRecord } from "../../src/libbpf/ring.js";
import { bpfObject } from "../helpers/bpf.js";

/** Starts a child that calls getppid() `calls` times once it reads a line on stdin; resolves when it exits. */
function producer(calls: number): { pid: number; go: () => void; done: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["-e", `process.stdin.once("data", () => { for (let i = 0; i < ${calls}; i++) process.ppid; process.exit(0); });`],
    {
      stdio: ["pipe", "inherit", "inherit"],
    },
  );
  const done = new Promise<void>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`producer exited ${code}`)))),
  );
  return { pid: child.pid!, go: () => child.stdin!.write("go\n"), done };
}

function readBssU64(obj: BpfObject, offset: number): bigint {
  const bss = obj.mapNames().find((n) => n.endsWith(".bss"))!;
  const v = obj.map(bss).lookup(new Uint8Array(4))!;
  return new DataView(v.buffer).getBigUint64(offset, true);
}

async function run(ringBytes: number, calls: number, perCall: number) {
  const p = producer(calls);
  const obj = BpfObject.open(bpfObject("ringtest"));
  try {
    obj.setRodata({ cfg_trigger_tgid: p.pid, cfg_per_call: perCall });
    obj.setMaxEntries("events", ringBytes);
    obj.load();
    obj.attachAll();
    const ring = new RingReader(obj.map("events"));
    const seen = new Uint8Array(calls * perCall);
    let received = 0;
    let corrupt = 0;
    const consume = () => {
      const span = ring.drain();
      const v = new DataView(span.data.buffer);
      forEachRecord(span.data, (off, len) => {
        const seq = Number(v.getBigUint64(off, true));
        if (len !== 64 || seq >= seen.length || seen[seq]) corrupt++;
        else seen[seq] = 1;
        for (let j = 0; j < 40; j++) if (span.data[off + 24 + j] !== ((seq + j) & 0xff)) corrupt++;
        received++;
      });
    };
    let exited = false;
    p.done.then(
      () => (exited = true),
      () => (exited = true),
    );
    p.go();
    while (!exited) {
      consume();
      await new Promise((r) => setImmediate(r));
    }
    await p.done;
    consume();
    const produced = readBssU64(obj, 0);
    const lost = obj.map("losses").sumPerCpuU64(0);
    ring.close();
    return { received, corrupt, produced, lost };
  } finally {
    obj.close();
  }
}

test("a large ring delivers 2M records with zero loss, payloads and sequence numbers intact", async () => {
  const r = await run(1 << 28, 32768, 64);
  assert.equal(r.produced, 2_097_152n);
  assert.equal(r.lost, 0n);
  assert.equal(r.corrupt, 0);
  assert.equal(r.received, 2_097_152);
});

test("an undersized ring: received + kernel loss counter == produced, exactly", async () => {
  const r = await run(1 << 16, 32768, 64);
  assert.equal(r.produced, 2_097_152n);
  assert.ok(r.lost > 0n, "the small ring should overflow");
  assert.equal(r.corrupt, 0);
  assert.equal(BigInt(r.received) + r.lost, r.produced);
});
