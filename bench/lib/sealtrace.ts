// sealtrace as a tracer in the matrix: `record` under the rusage wrapper, then the session decoded and counted.
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { openSession } from "../../src/session/reader.js";
import { readIdentityFile } from "../../src/session/identity.js";
import { forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { parseSessionMetadata } from "../../src/replay/metadata.js";
import { sessionSchema } from "../../src/replay/schema.js";
import { EV, HDR } from "../../src/events/layouts.js";
import { mergeWriteDumps, type MapDump } from "../../src/events/writes.js";
import { Background, sleep } from "./proc.js";
import type { BenchContext, Capture, FirstEvent, Running, Tracer } from "./tracer.js";
import type { Workload, WorkloadName, BundleName } from "./workloads.js";

interface Scan {
  summary: Record<string, unknown> | undefined;
  verdict: string;
  /** Kernel records in the file: ring records and start-of-recording snapshot records. */
  kernelRecords: number;
}

interface MapsRecord {
  m: string;
  keySize: number;
  valueSize: number;
  n: number;
  d: Uint8Array;
}

/** Streams a session: every kernel record and every map snapshot, in file order. */
async function scanSession(
  path: string,
  identity: string,
  onEvent: (e: DecodedRecord) => void,
  onMaps: (r: MapsRecord) => void,
): Promise<Scan> {
  const reader = await openSession(path, { identities: await readIdentityFile(identity) });
  let kernelRecords = 0;
  // Decoded with the session's own schema, as replay decodes it.
  const schema = sessionSchema(parseSessionMetadata(reader.metadata, HDR.size).schema);
  for await (const frame of reader.frames()) {
    for (const raw of frame.records) {
      const r = raw as Record<string, unknown>;
      if ((r.k === "ring" || r.k === "start") && r.d instanceof Uint8Array) {
        const d = r.d;
        forEachRecord(d, (off, len) => {
          const e = decodeRecord(d, off, len, schema);
          kernelRecords++;
          if (e) onEvent(e);
        });
      } else if (r.k === "maps" && r.d instanceof Uint8Array) onMaps(r as unknown as MapsRecord);
    }
  }
  return {
    summary: reader.finale?.summary as Record<string, unknown> | undefined,
    verdict: reader.verdict?.status ?? "?",
    kernelRecords,
  };
}

/** Loss the session reports for its bundles: ring full + map full + recursion misses + dropped at a limit. */
function sessionLoss(summary: Record<string, unknown> | undefined): {
  lost: number;
  perBundle: Record<string, number>;
} {
  const losses = (summary?.losses ?? {}) as Record<string, Record<string, unknown>>;
  const perBundle: Record<string, number> = {};
  let lost = 0;
  for (const [b, c] of Object.entries(losses)) {
    const n = ["ringFull", "mapFull", "recursionMisses", "dropped"].reduce((s, k) => s + Number(c[k] ?? 0), 0);
    perBundle[b] = n;
    lost += n;
  }
  return { lost, perBundle };
}

export class Sealtrace implements Tracer {
  readonly family = "sealtrace" as const;
  readonly name: string;
  private runs = 0;

  /** `bundle` alone (bench/runbooks/BUNDLE.yaml), or "triage": the shipped runbook with all five. */
  /** `label`: appended to the name, e.g. for another checkout's sealtrace (ctx.root) run in the same pairs. */
  constructor(
    private readonly ctx: BenchContext,
    private readonly bundle: BundleName | "triage",
    label?: string,
  ) {
    this.name =
      (bundle === "triage" ? "sealtrace triage (all 5)" : `sealtrace ${bundle}`) + (label ? `, ${label}` : "");
  }

  supports(w: WorkloadName): boolean {
    if (this.bundle === "triage") return true;
    return this.bundle === (w === "write-200" || w === "write" ? "filewrite" : w);
  }

  private launch(): { bg: Background; out: string } {
    const out = join(this.ctx.outDir, `sealtrace-${this.bundle}-${++this.runs}.sealed`);
    const runbook =
      this.bundle === "triage" ? "triage" : join(this.ctx.root, "bench", "runbooks", `${this.bundle}.yaml`);
    // The command a user runs (what npm links as `sealtrace`), so its start-up is measured too.
    const cli = join(this.ctx.root, "bin", "sealtrace");
    const bg = new Background(this.ctx.rusageBin, `${out}.rusage`, [
      cli,
      "record",
      "--runbook",
      runbook,
      "-r",
      this.ctx.recipient,
      "-o",
      out,
      "--yes",
      "--duration",
      "30m",
    ]);
    return { bg, out };
  }

  async start(): Promise<Running> {
    const { bg, out } = this.launch();
    await bg.waitFor(() => /probes attached in/.test(bg.stderr), this.name);
    return {
      finish: async (w, run) => {
        const { cpuS, code } = await bg.stop();
        if (code !== 0)
          throw new Error(`${this.name} exited ${code}: ${bg.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        const diskBytes = statSync(out).size;
        let captured = 0;
        let capturedBytes = 0n;
        let evicted = 0;
        let failedRetransmits = 0;
        // The final snapshot (taken after detach) holds the exact totals: its write_cache dump, then its write_totals dump.
        let lastCache: MapDump | undefined;
        let lastTotals: MapDump | undefined;
        const scan = await scanSession(
          out,
          this.ctx.identity,
          (e) => {
            if (w.name === "exec" && e.type === EV.exec && e.ppid === run.pid) captured++;
            else if (
              w.name === "connect" &&
              e.tgid === run.pid &&
              ((e.type === EV.connect && e.dport === w.port) || e.type === EV.accept)
            )
              captured++;
            else if (
              w.name === "retransmit" &&
              e.type === EV.retransmit &&
              (e.sport === w.port || e.dport === w.port)
            ) {
              // TcpRetransSegs counts the segments of retransmits that went out; a failed attempt (err) is not in it.
              if (Number(e.err ?? 0) === 0) captured += Math.max(1, Number(e.segs ?? 1));
              else failedRetransmits++;
            } else if (
              (w.name === "write" || w.name === "write-200") &&
              e.type === EV.fileWrite &&
              e.tgid === run.pid
            ) {
              evicted++;
              capturedBytes += e.bytes as bigint;
              captured += Number(e.calls as bigint);
            }
          },
          (m) => {
            if (m.m === "write_cache") lastCache = m;
            else if (m.m === "write_totals") lastTotals = m;
          },
        );
        if ((w.name === "write" || w.name === "write-200") && lastTotals) {
          for (const t of mergeWriteDumps(lastCache, lastTotals)) {
            if (t.tgid !== run.pid) continue;
            capturedBytes += t.bytes;
            captured += Number(t.calls);
          }
        }
        rmSync(out, { force: true });
        rmSync(`${out}.rusage`, { force: true });
        const loss = sessionLoss(scan.summary);
        const stored = scan.kernelRecords;
        const isWrite = w.name === "write" || w.name === "write-200";
        const c: Capture = {
          captured,
          lost: loss.lost,
          lossByBundle: loss.perBundle,
          lossDetail: (scan.summary?.losses ?? {}) as Record<string, unknown>,
          storedEvents: isWrite ? captured : stored,
          diskBytes,
          cpuS,
        };
        if (isWrite) c.capturedBytes = Number(capturedBytes);
        const notes = [
          `verdict ${scan.verdict}`,
          `kernel records ${stored} (ring ${Number(scan.summary?.events ?? 0)})`,
        ];
        if (evicted) notes.push(`${evicted} LRU flushes`);
        if (failedRetransmits) notes.push(`${failedRetransmits} failed retransmit attempts (err) not counted`);
        if (loss.lost)
          notes.push(
            `losses ${JSON.stringify(scan.summary?.losses, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))}`,
          );
        c.note = notes.join("; ");
        return c;
      },
    };
  }

  async firstEvent(): Promise<FirstEvent> {
    const { bg, out } = this.launch();
    await bg.waitFor(() => /probes attached in/.test(bg.stderr), this.name);
    await sleep(300);
    await bg.stop();
    let first: bigint | undefined;
    const scan = await scanSession(
      out,
      this.ctx.identity,
      (e) => {
        if (e.type === EV.exec && e.comm === this.ctx.markerComm && (first === undefined || e.ts_ns < first))
          first = e.ts_ns;
      },
      () => {},
    );
    rmSync(out, { force: true });
    rmSync(`${out}.rusage`, { force: true });
    if (first === undefined) throw new Error("sealtrace: no marker exec recorded");
    return {
      ms: Number(first - bg.launchBootNs) / 1e6,
      attachMs: Number(scan.summary?.attachMs ?? NaN),
      how: "launch → ts_ns of the first marker exec in the session",
    };
  }
}
