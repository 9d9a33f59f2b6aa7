// record(): claims the output, loads and attaches the bundles, runs a Recording (recording.ts) through its
// stages, and always ends with every probe detached and the session sealed.
import type { SessionWriter, SessionCloseResult, PartialDeleted } from "../session/writer.js";
import { DEFAULT_RESERVE_BYTES, SessionFiles } from "../session/partial.js";
import type { BundleLosses, EndReason } from "../session/records.js";
import type { BundleSpec, Filters } from "../bundles/spec.js";
import { loadBundles, unloadBundles, type LoadedBundle } from "./loader.js";
import { buildMetadata } from "./metadata.js";
import { Recording, writerFlushMs, type AttachTimes } from "./recording.js";
import { bootNs } from "../libbpf/clock.js";
import { SampledRunTimeStats } from "../libbpf/stats.js";
import type { Runbook } from "../runbook/runbook.js";

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

/** A bundle's counts so far: events stored, the kernel's loss counters, events a limit dropped (`dropped`). */
export type BundleCounters = BundleLosses;

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

/**
 * Records a session. Resolves when the session is sealed; the probes are detached before it resolves
 * or rejects. Throws UserError when the probes cannot be loaded (nothing is left attached then).
 */
export async function record(opts: RecordOptions): Promise<RecordResult> {
  // The output's names are claimed before any probe: a planted symlink, a directory, a FIFO, a missing
  // or read-only directory or a full disk is one line, and nothing was attached.
  const files = SessionFiles.claim(opts.out, DEFAULT_RESERVE_BYTES);
  const { bundles, times } = await attach(opts, files);
  // BPF run-time accounting (kernel.bpf_stats_enabled), sampled: a tenth of the time (libbpf/stats.ts).
  const stats = new SampledRunTimeStats(performance.now());
  const deletions: PartialDeleted[] = [];
  const { recording, writer } = await openSession(opts, files, bundles, times, stats, deletions);
  const release = () => {
    stats.close(performance.now());
    unloadBundles(bundles);
  };
  try {
    recording.writeStart();
    await recording.run();
    await recording.detachAndFinish();
  } catch (e) {
    await recording.abandon();
    release();
    await writer.close({ endReason: "error", endDetail: (e as Error).message }).catch(() => undefined);
    throw e;
  }
  release();
  const summary = recording.summary(deletions);
  // After a full disk the writer has already sealed what fit; close() then rejects with UserError(diskFull).
  const close = await writer.close(summary);
  const { endReason, endDetail, attachMs, counts, losses } = summary;
  return { close, endReason, ...(endDetail ? { endDetail } : {}), attachMs, counts, losses, partialDeleted: deletions };
}

/**
 * Loads and attaches every bundle (objects are opened first so the metadata can name their hashes).
 * On failure the claimed names are removed and nothing is left attached.
 */
async function attach(
  opts: RecordOptions,
  files: SessionFiles,
): Promise<{ bundles: LoadedBundle[]; times: AttachTimes }> {
  const t0 = performance.now();
  const startBoot = bootNs();
  let bundles: LoadedBundle[];
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
  return { bundles, times: { startBoot, attachedBoot: bootNs(), attachMs, loadMs } };
}

/**
 * Creates the session writer (header and metadata frame) and the Recording that feeds it. A deletion of
 * the partial file is told to the operator at once, and recorded in the session once the writer exists.
 * On failure the probes are unloaded and the claimed names removed.
 */
async function openSession(
  opts: RecordOptions,
  files: SessionFiles,
  bundles: LoadedBundle[],
  times: AttachTimes,
  stats: SampledRunTimeStats,
  deletions: PartialDeleted[],
): Promise<{ recording: Recording; writer: SessionWriter }> {
  let recording: Recording | undefined;
  const onPartialDeleted = (e: PartialDeleted) => {
    deletions.push(e);
    opts.onWarning?.(
      e.restored
        ? `sealtrace: WARNING: ${e.deletedPath} was deleted by another process; restored ${e.restored.bytes} bytes from the open file, recording continues into ${e.restored.partialPath}`
        : `sealtrace: WARNING: ${e.deletedPath} was deleted by another process and could not be restored yet (${e.error}); recording continues through the open file`,
    );
    if (e.recordable) recording?.recordDeletion(e);
  };
  let writer: SessionWriter;
  try {
    // Imported after attaching: the crypto and compression modules are not needed to start probing.
    const { SessionWriter } = await import("../session/writer.js");
    writer = await SessionWriter.create(opts.out, {
      files,
      onPartialDeleted,
      recipients: opts.recipients,
      ...(opts.signingKey ? { signingKey: opts.signingKey } : {}),
      flushIntervalMs: writerFlushMs(opts.runbook.flushIntervalMs),
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
    stats.close(performance.now());
    unloadBundles(bundles);
    // Removes the claimed names unless the writer already sealed or kept what it wrote.
    files.discard();
    throw e;
  }
  recording = new Recording(opts, writer, bundles, times, stats);
  return { recording, writer };
}
