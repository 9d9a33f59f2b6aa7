// One recording once its probes are live: the session's records (start, drains, snapshots), the limits,
// the operator's status, and the summary it is sealed with. record() in recorder.ts runs its stages in order.
import type { SessionWriter, PartialDeleted } from "../session/writer.js";
import type { SessionRecord, SessionSummary, EndReason } from "../session/records.js";
import type { BundleCounters, RecordOptions, RecordStatus } from "./recorder.js";
import type { LoadedBundle } from "./loader.js";
import { bundleRefused } from "./refusal.js";
import { fillArgvFromProc } from "./procargv.js";
import { compilePatterns, redactSpan, type ArgMatcher } from "./redact.js";
import { bootNs } from "../libbpf/clock.js";
import type { SampledRunTimeStats } from "../libbpf/stats.js";
import { snapshotAccounts } from "./accounts.js";
import { snapshotCgroups, snapshotProcCgroups } from "./cgroups.js";
import { DEFAULT_MAX_HASH_BYTES, ExeHasher } from "./hasher.js";
import { EV, LOSS } from "../events/layouts.js";
import { forEachRecord } from "../events/framing.js";
import { UserError } from "../errors.js";

/**
 * The most ring bytes one `ring` record holds. On a full disk the writer keeps the records that fit,
 * cut at record boundaries, so smaller records keep more; 64 KiB costs one record header per 64 KiB.
 */
export const RING_RECORD_MAX_BYTES = 64 * 1024;

/**
 * The shortest wait between two drains. Programs submit without wake-ups, so the drain tick is the consumer's
 * clock: this one while rings fill fast (storms), longer when they are quiet (drainDelayMs).
 */
export const DRAIN_TICK_MS = 10;

/**
 * The longest wait between two drains, when the rings are quiet: every wake-up of the recorder on a busy host
 * takes a CPU from the traced workload for a moment (a 10 ms tick was ~100 wake-ups a second, idle).
 */
export const DRAIN_IDLE_MS = 100;

/** The wait is chosen so that, at the rate it last filled, no ring gets fuller than 1/RING_FILL_DIVISOR. */
const RING_FILL_DIVISOR = 4;

/**
 * The longest drain wait for a runbook's flush interval: a tenth of it, within [DRAIN_TICK_MS, DRAIN_IDLE_MS].
 * A record waits that long in its ring, then in the writer's buffer: the writer gets the interval minus this
 * (writerFlushMs), so that a `kill -9` still loses at most the runbook's flush interval.
 */
export function idleDrainMs(flushIntervalMs: number): number {
  return Math.max(DRAIN_TICK_MS, Math.min(DRAIN_IDLE_MS, Math.floor(flushIntervalMs / 10)));
}

/** The writer's flush interval for a runbook's: what is left of it once a record has waited in its ring. */
export function writerFlushMs(flushIntervalMs: number): number {
  return Math.max(1, flushIntervalMs - idleDrainMs(flushIntervalMs));
}

/**
 * The wait before the next drain, from what this one took: `bytes` from a ring of `ringBytes` filled in `sinceMs`.
 * A ring filling at that rate must not pass 1/RING_FILL_DIVISOR of its size before the next drain; a quiet one
 * waits `maxMs`. At most DRAIN_IDLE_MS of quiet then a burst: the smallest ring (4 MiB) reaches a quarter in
 * 100 ms only at 10 MB/s of records, several times any storm measured here (docs/BENCHMARKS.md).
 */
export function drainDelayMs(
  drained: ReadonlyArray<{ bytes: number; ringBytes: number }>,
  sinceMs: number,
  maxMs: number,
): number {
  let delay = maxMs;
  for (const { bytes, ringBytes } of drained) {
    if (bytes <= 0) continue;
    const msToFill = (ringBytes / RING_FILL_DIVISOR / bytes) * Math.max(sinceMs, 1);
    delay = Math.min(delay, msToFill);
  }
  return Math.max(DRAIN_TICK_MS, Math.min(maxMs, Math.floor(delay)));
}

/** How long the end of a recording waits for executables still queued for hashing. */
export const HASH_FINISH_MS = 5000;

/** What a recording needs of record()'s options. */
export type RecordingOptions = Pick<RecordOptions, "runbook" | "durationMs" | "signal" | "hurry" | "onStatus">;

/** When the probes went live: boot-clock ns and ms, as the `attach` record and the summary hold them. */
export interface AttachTimes {
  /** Before the objects were opened. */
  startBoot: bigint;
  /** Once every probe was live. */
  attachedBoot: bigint;
  /** From process start to the last bundle attached. */
  attachMs: number;
  /** Open+verify+attach alone. */
  loadMs: number;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(EV).map(([k, v]) => [v, k]));

/** Counts records per type in a ring-format span. */
function countTypes(span: Uint8Array, counts: Map<number, number>): void {
  const v = new DataView(span.buffer, span.byteOffset, span.byteLength);
  forEachRecord(span, (off, len) => {
    if (len < 2) return;
    const t = v.getUint16(off, true);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  });
}

export class Recording {
  private readonly counters: Map<string, BundleCounters>;
  private readonly typeCounts = new Map<number, number>();
  private readonly redact: ArgMatcher | undefined;
  private totalEvents = 0;
  private endReason: EndReason = "duration";
  private endDetail: string | undefined;
  /** A limit with `onLimit: drop` was reached: drained events are counted as dropped, not stored. */
  private dropping = false;
  /** An append found the disk full: the writer sealed what fit, and the recording ends. */
  private diskFull = false;
  /** Hashes each executable identity the exec ring reports, once, off the event path. */
  private readonly hasher: ExeHasher | undefined;

  constructor(
    private readonly opts: RecordingOptions,
    private readonly writer: SessionWriter,
    private readonly bundles: readonly LoadedBundle[],
    private readonly times: AttachTimes,
    /** The sampled BPF run-time statistics (turned on and off on the drain tick), when the recorder keeps them. */
    private readonly runTimeStats?: SampledRunTimeStats,
  ) {
    this.redact = compilePatterns(opts.runbook.redact.argv);
    this.counters = new Map(
      bundles.map((b) => [
        b.spec.name,
        { events: 0, ringFull: 0n, mapFull: 0n, readFail: 0n, recursionMisses: 0n, dropped: 0 },
      ]),
    );
    this.hasher = bundles.some((b) => b.spec.hashesExecutables)
      ? new ExeHasher({
          maxBytes: BigInt(opts.runbook.limits.maxHashFileBytes ?? DEFAULT_MAX_HASH_BYTES),
          onRecord: (r) => void this.append(r),
          now: bootNs,
        })
      : undefined;
  }

  /** Appends one record; false when the disk is full (the writer has sealed what fit). */
  append(record: SessionRecord): boolean {
    try {
      this.writer.append(record);
      return true;
    } catch (e) {
      if (e instanceof UserError && e.kind === "disk-full") {
        this.diskFull = true;
        return false;
      }
      throw e;
    }
  }

  /** Another process deleted the partial file: said in the session too. */
  recordDeletion(e: PartialDeleted): void {
    this.append({
      k: "partial-deleted",
      t: bootNs(),
      path: e.deletedPath,
      ...(e.restored ? { restoredTo: e.restored.partialPath, bytes: e.restored.bytes } : { error: e.error! }),
    });
  }

  /**
   * Stage 1: what the session holds before the first drain: the attach times, the cgroup tree, each
   * process's cgroup, the host's accounts, every bundle's start snapshot, then a full snapshot.
   */
  writeStart(): void {
    this.append({
      k: "attach",
      t: this.times.attachedBoot,
      startT: this.times.startBoot,
      attachMs: this.times.attachMs,
      loadMs: this.times.loadMs,
      bundles: this.bundles.map((b) => ({
        b: b.spec.name,
        programs: b.object.programNames(),
        attachedMs: b.attachedMs,
      })),
    });
    this.append({ k: "cgroups", t: bootNs(), entries: snapshotCgroups() });
    this.append({ k: "proc-cgroups", t: bootNs(), entries: snapshotProcCgroups() });
    this.append(snapshotAccounts(bootNs()));
    for (const b of this.bundles) {
      for (const it of b.iterators) {
        let d: Uint8Array;
        try {
          d = b.object.runIterator(it);
        } catch (e) {
          throw bundleRefused(b.spec.name, e);
        }
        if (b.spec.argvFromProc) d = fillArgvFromProc(d);
        if (this.redact && b.spec.redactArgv) redactSpan(d, this.redact);
        this.append({ k: "start", b: b.spec.name, it, t: bootNs(), d });
      }
    }
    this.snapshot(true);
  }

  /**
   * Stage 2: drains every ring into `ring` records (or counts them dropped); stops at a full disk. Returns the
   * bytes taken from each ring, for the next drain's delay.
   */
  drain(): Array<{ bytes: number; ringBytes: number }> {
    const drained: Array<{ bytes: number; ringBytes: number }> = [];
    for (const b of this.bundles) {
      const got = { bytes: 0, ringBytes: b.spec.ringBytes };
      drained.push(got);
      for (;;) {
        const span = b.ring.drain(RING_RECORD_MAX_BYTES);
        if (span.records === 0 && span.data.length === 0) break;
        got.bytes += span.data.length;
        const c = this.counters.get(b.spec.name)!;
        if (this.dropping) {
          c.dropped += span.records;
          continue;
        }
        if (this.redact && b.spec.redactArgv) redactSpan(span.data, this.redact);
        countTypes(span.data, this.typeCounts);
        c.events += span.records;
        this.totalEvents += span.records;
        if (!this.append({ k: "ring", b: b.spec.name, t: bootNs(), n: span.records, d: span.data })) return drained;
        if (b.spec.hashesExecutables) this.hasher?.scan(span.data);
      }
    }
    return drained;
  }

  /** Loss counters always (a silent drop is a bug); with `full`, also program stats and aggregate maps. */
  snapshot(full: boolean): void {
    const t = bootNs();
    for (const b of this.bundles) {
      const c = this.counters.get(b.spec.name)!;
      c.ringFull = b.losses.sumPerCpuU64(LOSS.ringFull);
      c.mapFull = b.losses.sumPerCpuU64(LOSS.mapFull);
      c.readFail = b.losses.sumPerCpuU64(LOSS.readFail);
      const stats = b.object.programStats();
      c.recursionMisses = stats.reduce((s, p) => s + p.recursionMisses, 0n);
      this.append({
        k: "loss",
        b: b.spec.name,
        t,
        ringFull: c.ringFull,
        mapFull: c.mapFull,
        readFail: c.readFail,
        recursionMisses: c.recursionMisses,
        dropped: c.dropped,
      });
      if (!full) continue;
      this.append({
        k: "stats",
        b: b.spec.name,
        t,
        ...(this.runTimeStats ? { sampledMs: this.runTimeStats.sampledMs(performance.now()) } : {}),
        progs: stats.map((p) => ({
          name: p.name,
          runTimeNs: p.runTimeNs,
          runCount: p.runCount,
          recursionMisses: p.recursionMisses,
        })),
      });
      for (const m of b.spec.snapshotMaps) {
        const map = b.object.map(m);
        const entries = map.entries();
        const rowBytes = map.keySize + map.lookupSize;
        const d = new Uint8Array(entries.length * rowBytes);
        entries.forEach((e, i) => {
          d.set(e.key, i * rowBytes);
          d.set(e.value, i * rowBytes + map.keySize);
        });
        this.append({
          k: "maps",
          b: b.spec.name,
          m,
          t,
          keySize: map.keySize,
          valueSize: map.lookupSize,
          n: entries.length,
          d,
        });
      }
    }
    if (this.hasher) this.append(this.hasher.lossRecord(t));
    if (!full) return;
    const cpu = process.cpuUsage();
    this.append({
      k: "stats",
      b: "recorder",
      t,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes: process.memoryUsage.rss(),
    });
  }

  /**
   * Stage 3: drains on every tick (every DRAIN_TICK_MS while rings fill fast, up to idleDrainMs when quiet),
   * snapshots on the runbook's interval, applies its limits and reports status, until the duration passes, a
   * limit stops it, the disk fills or the signal aborts.
   */
  async run(): Promise<void> {
    const { opts } = this;
    const startMs = performance.now();
    const maxDrainMs = idleDrainMs(opts.runbook.flushIntervalMs);
    let lastSnapshotMs = startMs;
    let lastStatusMs = startMs;
    let lastDrainMs = startMs;
    let lastStatusEvents = new Map<string, number>();
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const stop = (reason: EndReason, detail?: string) => {
        if (this.endReason === "duration" && reason !== "duration") this.endReason = reason;
        if (detail) this.endDetail = detail;
        stopped = true;
        clearTimeout(timer);
        opts.signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => stop("signal", String(opts.signal.reason ?? "abort"));
      const tick = () => {
        const drained = this.drain();
        const now = performance.now();
        this.runTimeStats?.update(now);
        const delay = drainDelayMs(drained, now - lastDrainMs, maxDrainMs);
        lastDrainMs = now;
        if (this.diskFull) return stop("disk-full");
        if (now - lastSnapshotMs >= opts.runbook.snapshotIntervalMs) {
          this.snapshot(true);
          lastSnapshotMs = now;
        }
        // The session's size is checked on the status line's clock, at most every 250 ms.
        const limit = this.limitReached(now - lastStatusMs >= 250);
        if (limit) return stop(limit);
        if (opts.onStatus && now - lastStatusMs >= 1000) {
          const status = this.status(now - startMs, now - lastStatusMs, lastStatusEvents);
          lastStatusEvents = new Map([...this.counters].map(([n, c]) => [n, c.events]));
          lastStatusMs = now;
          opts.onStatus(status);
        }
        if (now - startMs >= opts.durationMs) return stop("duration");
        if (!stopped) timer = setTimeout(tick, Math.min(delay, Math.max(1, startMs + opts.durationMs - now)));
      };
      timer = setTimeout(tick, DRAIN_TICK_MS);
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener("abort", onAbort);
    });
  }

  /**
   * The runbook's limits: the end reason when one says "stop"; when one says "drop", drained events are
   * counted and dropped from now on. `checkBytes`: whether to look at the session's size this time.
   */
  private limitReached(checkBytes: boolean): EndReason | undefined {
    const limits = this.opts.runbook.limits;
    if (!this.dropping && limits.maxEvents !== undefined && this.totalEvents >= limits.maxEvents) {
      if (limits.onLimit === "stop") return "max-events";
      this.dropping = true;
    }
    if (!this.dropping && limits.maxBytes !== undefined && checkBytes && this.writer.bytes >= limits.maxBytes) {
      if (limits.onLimit === "stop") return "max-bytes";
      this.dropping = true;
    }
    return undefined;
  }

  /** The status line's figures: each bundle's rate since the last status (`sinceMs` ago, `lastEvents`). */
  private status(elapsedMs: number, sinceMs: number, lastEvents: ReadonlyMap<string, number>): RecordStatus {
    const rates: RecordStatus["bundles"] = {};
    for (const [name, c] of this.counters)
      rates[name] = { ...c, ratePerSec: ((c.events - (lastEvents.get(name) ?? 0)) * 1000) / sinceMs };
    return {
      elapsedMs,
      leftMs: Math.max(0, this.opts.durationMs - elapsedMs),
      bundles: rates,
      bytesOnDisk: this.writer.bytes,
      frames: this.writer.frames,
    };
  }

  /**
   * Stage 4: detaches every probe, then drains what they emitted up to that moment, names the cgroups
   * made meanwhile and takes the final snapshot (after detaching, so aggregate maps hold their final
   * totals). A second abort (`hurry`) or a full disk skips all but the loss counters.
   */
  async detachAndFinish(): Promise<void> {
    await Promise.all(this.bundles.map((b) => b.object.detachAllAsync()));
    this.drain();
    const hurried = this.opts.hurry?.aborted ?? false;
    await this.hasher?.finish(hurried || this.diskFull ? 0 : HASH_FINISH_MS);
    // Cgroups made during the recording (a container started mid-incident) get their paths here.
    if (!hurried && !this.diskFull) this.append({ k: "cgroups", t: bootNs(), entries: snapshotCgroups() });
    this.snapshot(!hurried && !this.diskFull);
  }

  /** After a failure: stops the hasher without waiting for its queue. */
  async abandon(): Promise<void> {
    await this.hasher?.finish(0).catch(() => undefined);
  }

  /** Stage 5: the summary the session is sealed with. */
  summary(deletions: readonly PartialDeleted[]): SessionSummary {
    const counts: Record<string, number> = {};
    for (const [t, n] of this.typeCounts) counts[TYPE_NAMES.get(t) ?? `type${t}`] = n;
    return {
      endReason: this.endReason,
      ...(this.endDetail ? { endDetail: this.endDetail } : {}),
      startBootNs: this.times.startBoot,
      endBootNs: bootNs(),
      endedAt: new Date().toISOString(),
      attachMs: this.times.attachMs,
      counts,
      losses: Object.fromEntries(this.counters),
      events: this.totalEvents,
      ...(deletions.length > 0
        ? {
            partialDeleted: deletions.map((d) => ({
              path: d.deletedPath,
              ...(d.restored ? { restoredTo: d.restored.partialPath } : { error: d.error! }),
            })),
          }
        : {}),
    };
  }
}
