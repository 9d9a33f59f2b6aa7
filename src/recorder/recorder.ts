// The recording loop: load and attach bundles, drain rings on a short tick, snapshot maps, enforce
// limits, and always end with every probe detached and the session sealed.
import type { SessionWriter, SessionCloseResult, PartialDeleted } from "../session/writer.js";
import { DEFAULT_RESERVE_BYTES, SessionFiles } from "../session/partial.js";
import type { BundleSpec, Filters } from "../bundles/spec.js";
import { loadBundles, unloadBundles, type LoadedBundle } from "./loader.js";
import { bundleRefused } from "./refusal.js";
import { buildMetadata } from "./metadata.js";
import { fillArgvFromProc } from "./procargv.js";
import { compilePatterns, redactSpan } from "./redact.js";
import { bootNs } from "../libbpf/clock.js";
import { enableRunTimeStats } from "../libbpf/stats.js";
import { snapshotAccounts } from "./accounts.js";
import { snapshotCgroups, snapshotProcCgroups } from "./cgroups.js";
import { DEFAULT_MAX_HASH_BYTES, ExeHasher } from "./hasher.js";
import { EV, LOSS } from "../events/layouts.js";
import { forEachRecord } from "../events/framing.js";
import type { Runbook } from "../runbook/runbook.js";
import { UserError, EXIT } from "../cli/errors.js";

/**
 * The most ring bytes one `ring` record holds. On a full disk the writer keeps the records that fit,
 * cut at record boundaries, so smaller records keep more; 64 KiB costs one record header per 64 KiB.
 */
export const RING_RECORD_MAX_BYTES = 64 * 1024;

/** How often rings are drained. Programs submit without wake-ups, so this tick is the consumer's clock. */
export const DRAIN_TICK_MS = 10;

/** How long the end of a recording waits for executables still queued for hashing. */
export const HASH_FINISH_MS = 5000;

export type EndReason = "duration" | "max-events" | "max-bytes" | "signal" | "disk-full" | "error";

export interface RecordOptions {
  runbook: Runbook;
  bundles: BundleSpec[];
  filters: Filters;
  out: string;
  recipients: string[];
  signingKey?: string;
  durationMs: number;
  incident?: string;
  /** Aborting ends the recording; `reason` is kept as the end reason detail (e.g. "SIGINT"). */
  signal: AbortSignal;
  /** A second abort asks for the fastest clean end: no final map snapshot. */
  hurry?: AbortSignal;
  onStatus?: (s: RecordStatus) => void;
  onCheckpoint?: (frameIndex: number, chainHashHex: string) => void;
  /** Something the operator must hear about at once (printed above the status line). */
  onWarning?: (text: string) => void;
  /** Called once every probe is live: the last bundle's time, and each bundle's (ms since process start). */
  onAttached?: (attachMs: number, bundles: ReadonlyArray<{ name: string; attachedMs: number }>) => void;
}

export interface BundleCounters {
  events: number;
  ringFull: bigint;
  mapFull: bigint;
  readFail: bigint;
  recursionMisses: bigint;
  /** Events read from the ring but not stored because a limit said "drop". */
  dropped: number;
}

export interface RecordStatus {
  elapsedMs: number;
  leftMs: number;
  bundles: Record<string, BundleCounters & { ratePerSec: number }>;
  bytesOnDisk: number;
  /** Frames sealed and synced so far. */
  frames: number;
}

export interface RecordResult {
  close: SessionCloseResult;
  endReason: EndReason;
  endDetail?: string;
  attachMs: number;
  counts: Record<string, number>;
  losses: Record<string, BundleCounters>;
  /** Each time another process deleted the partial file, and where it was restored (also in the session). */
  partialDeleted: PartialDeleted[];
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

/**
 * Records a session. Resolves when the session is sealed; the probes are detached before it resolves
 * or rejects. Throws UserError when the probes cannot be loaded (nothing is left attached then).
 */
export async function record(opts: RecordOptions): Promise<RecordResult> {
  const t0 = performance.now();
  const redact = compilePatterns(opts.runbook.redact.argv);
  // The output's names are claimed before any probe: a planted symlink, a directory, a FIFO, a missing
  // or read-only directory or a full disk is one line, and nothing was attached.
  const files = SessionFiles.claim(opts.out, DEFAULT_RESERVE_BYTES);
  // Objects are opened first so the metadata can name their hashes; attaching happens right after.
  const startBoot = bootNs();
  let bundles: LoadedBundle[] = [];
  try {
    bundles = await loadBundles(opts.bundles, opts.filters, process.pid);
  } catch (e) {
    files.discard();
    throw e;
  }
  const loadMs = performance.now() - t0;
  // From the moment the command started (process start), as the on-call engineer experiences it.
  const attachMs = process.uptime() * 1000;
  opts.onAttached?.(
    attachMs,
    bundles.map((b) => ({ name: b.spec.name, attachedMs: b.attachedMs })),
  );
  const attachedBoot = bootNs();

  // BPF run-time accounting (kernel.bpf_stats_enabled) for as long as this recording holds the fd.
  const stats = enableRunTimeStats();
  let writer: SessionWriter;
  const deletions: PartialDeleted[] = [];
  // Set once the writer exists: a deletion noticed by the writer is also recorded in the session.
  let recordDeletion: ((e: PartialDeleted) => void) | undefined;
  const onPartialDeleted = (e: PartialDeleted) => {
    deletions.push(e);
    opts.onWarning?.(
      e.restored
        ? `sealtrace: WARNING: ${e.deletedPath} was deleted by another process; restored ${e.restored.bytes} bytes from the open file, recording continues into ${e.restored.partialPath}`
        : `sealtrace: WARNING: ${e.deletedPath} was deleted by another process and could not be restored yet (${e.error}); recording continues through the open file`,
    );
    if (e.recordable) recordDeletion?.(e);
  };
  try {
    // Imported after attaching: the crypto and compression modules are not needed to start probing.
    const { SessionWriter } = await import("../session/writer.js");
    writer = await SessionWriter.create(opts.out, {
      files,
      onPartialDeleted,
      recipients: opts.recipients,
      ...(opts.signingKey ? { signingKey: opts.signingKey } : {}),
      flushIntervalMs: opts.runbook.flushIntervalMs,
      metadata: buildMetadata({
        runbook: opts.runbook,
        bundles: bundles.map((b) => ({
          name: b.spec.name,
          object: b.spec.object,
          sha256: b.objectSha256,
          unavailable: b.unavailable,
        })),
        filters: opts.filters,
        ...(opts.incident ? { incident: opts.incident } : {}),
        durationMs: opts.durationMs,
      }),
      ...(opts.onCheckpoint ? { onCheckpoint: opts.onCheckpoint } : {}),
    });
  } catch (e) {
    stats.close();
    unloadBundles(bundles);
    // Removes the claimed names unless the writer already sealed or kept what it wrote.
    files.discard();
    throw e;
  }

  const counters = new Map<string, BundleCounters>(
    bundles.map((b) => [
      b.spec.name,
      { events: 0, ringFull: 0n, mapFull: 0n, readFail: 0n, recursionMisses: 0n, dropped: 0 },
    ]),
  );
  const typeCounts = new Map<number, number>();
  let totalEvents = 0;
  let endReason: EndReason = "duration";
  let endDetail: string | undefined;
  let dropping = false;
  let diskFull = false;

  const append = (record: unknown): boolean => {
    try {
      writer.append(record);
      return true;
    } catch (e) {
      if (e instanceof UserError && e.exitCode === EXIT.diskFull) {
        diskFull = true;
        return false;
      }
      throw e;
    }
  };
  // Executable hashes (src/recorder/hasher.ts): fed from the exec ring, sealed as `exe-hash` records.
  const hasher = bundles.some((b) => b.spec.name === "exec")
    ? new ExeHasher({
        maxBytes: BigInt(opts.runbook.limits.maxHashFileBytes ?? DEFAULT_MAX_HASH_BYTES),
        onRecord: (r) => void append(r),
        now: bootNs,
      })
    : undefined;
  recordDeletion = (e) =>
    append({
      k: "partial-deleted",
      t: bootNs(),
      path: e.deletedPath,
      ...(e.restored ? { restoredTo: e.restored.partialPath, bytes: e.restored.bytes } : { error: e.error }),
    });

  try {
    append({
      k: "attach",
      t: attachedBoot,
      startT: startBoot,
      attachMs,
      loadMs,
      bundles: bundles.map((b) => ({ b: b.spec.name, programs: b.object.programNames(), attachedMs: b.attachedMs })),
    });
    append({ k: "cgroups", t: bootNs(), entries: snapshotCgroups() });
    append({ k: "proc-cgroups", t: bootNs(), entries: snapshotProcCgroups() });
    append(snapshotAccounts(bootNs()));
    for (const b of bundles) {
      for (const it of b.iterators) {
        let d: Uint8Array;
        try {
          d = b.object.runIterator(it);
        } catch (e) {
          throw bundleRefused(b.spec.name, e);
        }
        if (b.spec.name === "exec") d = fillArgvFromProc(d);
        if (redact) redactSpan(d, redact);
        append({ k: "start", b: b.spec.name, it, t: bootNs(), d });
      }
    }

    const drainAll = () => {
      for (const b of bundles) {
        for (;;) {
          const span = b.ring.drain(RING_RECORD_MAX_BYTES);
          if (span.records === 0 && span.data.length === 0) break;
          const c = counters.get(b.spec.name)!;
          if (dropping) {
            c.dropped += span.records;
            continue;
          }
          if (redact && b.spec.name === "exec") redactSpan(span.data, redact);
          countTypes(span.data, typeCounts);
          c.events += span.records;
          totalEvents += span.records;
          if (!append({ k: "ring", b: b.spec.name, t: bootNs(), n: span.records, d: span.data })) return;
          if (b.spec.name === "exec") hasher?.scan(span.data);
        }
      }
    };

    /** Loss counters always (a silent drop is a bug); with `full`, also program stats and aggregate maps. */
    const snapshot = (full: boolean) => {
      const t = bootNs();
      for (const b of bundles) {
        const c = counters.get(b.spec.name)!;
        c.ringFull = b.losses.sumPerCpuU64(LOSS.ringFull);
        c.mapFull = b.losses.sumPerCpuU64(LOSS.mapFull);
        c.readFail = b.losses.sumPerCpuU64(LOSS.readFail);
        const stats = b.object.programStats();
        c.recursionMisses = stats.reduce((s, p) => s + p.recursionMisses, 0n);
        append({
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
        append({
          k: "stats",
          b: b.spec.name,
          t,
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
          append({
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
      if (hasher) append(hasher.lossRecord(t));
      if (!full) return;
      const cpu = process.cpuUsage();
      append({
        k: "stats",
        b: "recorder",
        t,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        rssBytes: process.memoryUsage.rss(),
      });
    };

    snapshot(true);
    const startMs = performance.now();
    let lastSnapshotMs = startMs;
    let lastStatusMs = startMs;
    let lastStatusEvents = new Map<string, number>();
    await new Promise<void>((resolve) => {
      const stop = (reason: EndReason, detail?: string) => {
        if (endReason === "duration" && reason !== "duration") endReason = reason;
        if (detail) endDetail = detail;
        clearInterval(timer);
        opts.signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => stop("signal", String(opts.signal.reason ?? "abort"));
      const tick = () => {
        drainAll();
        const now = performance.now();
        if (diskFull) return stop("disk-full");
        if (now - lastSnapshotMs >= opts.runbook.snapshotIntervalMs) {
          snapshot(true);
          lastSnapshotMs = now;
        }
        const limits = opts.runbook.limits;
        if (!dropping && limits.maxEvents !== undefined && totalEvents >= limits.maxEvents) {
          if (limits.onLimit === "stop") return stop("max-events");
          dropping = true;
        }
        if (
          !dropping &&
          limits.maxBytes !== undefined &&
          now - lastStatusMs >= 250 &&
          writer.bytes >= limits.maxBytes
        ) {
          if (limits.onLimit === "stop") return stop("max-bytes");
          dropping = true;
        }
        if (opts.onStatus && now - lastStatusMs >= 1000) {
          const rates: RecordStatus["bundles"] = {};
          for (const [name, c] of counters) {
            rates[name] = {
              ...c,
              ratePerSec: ((c.events - (lastStatusEvents.get(name) ?? 0)) * 1000) / (now - lastStatusMs),
            };
          }
          lastStatusEvents = new Map([...counters].map(([n, c]) => [n, c.events]));
          lastStatusMs = now;
          opts.onStatus({
            elapsedMs: now - startMs,
            leftMs: Math.max(0, opts.durationMs - (now - startMs)),
            bundles: rates,
            bytesOnDisk: writer.bytes,
            frames: writer.frames,
          });
        }
        if (now - startMs >= opts.durationMs) stop("duration");
      };
      const timer = setInterval(tick, DRAIN_TICK_MS);
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener("abort", onAbort);
    });

    // Detach first, then drain what the probes emitted up to that moment.
    await Promise.all(bundles.map((b) => b.object.detachAllAsync()));
    drainAll();
    await hasher?.finish(opts.hurry?.aborted || diskFull ? 0 : HASH_FINISH_MS);
    // Cgroups made during the recording (a container started mid-incident) get their paths here.
    if (!opts.hurry?.aborted && !diskFull) append({ k: "cgroups", t: bootNs(), entries: snapshotCgroups() });
    // The final snapshot comes after detaching, so aggregate maps hold their final totals.
    snapshot(!opts.hurry?.aborted && !diskFull);
  } catch (e) {
    endReason = "error";
    endDetail = (e as Error).message;
    await hasher?.finish(0).catch(() => undefined);
    stats.close();
    unloadBundles(bundles);
    await writer.close({ endReason, endDetail }).catch(() => undefined);
    throw e;
  }
  stats.close();
  unloadBundles(bundles);

  const counts: Record<string, number> = {};
  for (const [t, n] of typeCounts) counts[TYPE_NAMES.get(t) ?? `type${t}`] = n;
  const losses = Object.fromEntries(counters);
  const summary = {
    endReason,
    ...(endDetail ? { endDetail } : {}),
    startBootNs: startBoot,
    endBootNs: bootNs(),
    endedAt: new Date().toISOString(),
    attachMs,
    counts,
    losses,
    events: totalEvents,
    ...(deletions.length > 0
      ? {
          partialDeleted: deletions.map((d) => ({
            path: d.deletedPath,
            ...(d.restored ? { restoredTo: d.restored.partialPath } : { error: d.error }),
          })),
        }
      : {}),
  };
  // After a full disk the writer has already sealed what fit; close() then rejects with UserError(diskFull).
  const close = await writer.close(summary);
  return { close, endReason, ...(endDetail ? { endDetail } : {}), attachMs, counts, losses, partialDeleted: deletions };
}
