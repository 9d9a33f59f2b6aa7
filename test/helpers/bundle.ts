// Kernel-test harness: load one bundle with filters, run a workload, collect its decoded records.
import { BpfObject, type RodataValue } from "../../src/libbpf/object.js";
import { RingReader, forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { cText } from "../../src/replay/strings.js";
import { attachMore, commonRodata, configureObject } from "../../src/recorder/loader.js";
import { kernelFeatures } from "../../src/libbpf/features.js";
import { fillArgvFromProc } from "../../src/recorder/procargv.js";
import type { BundleSpec, Filters } from "../../src/bundles/spec.js";
import { bundleObjectPath } from "../../src/bundles/registry.js";
import { LOSS } from "../../src/events/layouts.js";

export interface Capture {
  records: DecodedRecord[];
  ringFull: bigint;
  mapFull: bigint;
  object: BpfObject;
}

export interface HarnessOptions {
  filters?: Filters;
  ringBytes?: number;
  /** Extra .rodata (bundle-specific). */
  rodata?: Record<string, RodataValue>;
  /** Tgids to seed into `followed` before attaching (with filters.pid set). */
  follow?: number[];
  /** Do not drain while the workload runs (to force ring overflow). */
  noDrainDuringRun?: boolean;
}

/**
 * Turns on the program variants the running kernel runs (BundleSpec.variants), as the recorder does
 * for `spec` loaded alone; returns the start iterators to run, in order.
 */
export function applyVariants(obj: BpfObject, spec: BundleSpec): string[] {
  return configureObject(obj, spec, new Set([spec.name]), kernelFeatures()).iterators;
}

/**
 * Loads `spec`, attaches it, runs `workload` while draining the ring every few ms, then drains the
 * rest and returns every record. The object is always closed, even when the workload throws.
 */
export async function capture(
  spec: BundleSpec,
  workload: () => Promise<void>,
  opts: HarnessOptions = {},
): Promise<Capture> {
  const obj = BpfObject.open(bundleObjectPath(spec));
  let ring: RingReader | undefined;
  try {
    const filters = opts.filters ?? {};
    obj.setRodata({ ...commonRodata(filters, process.pid), ...(spec.rodata?.(filters) ?? {}), ...(opts.rodata ?? {}) });
    obj.setMaxEntries(spec.ring, opts.ringBytes ?? spec.ringBytes);
    applyVariants(obj, spec);
    obj.load();
    if (opts.follow) {
      const m = obj.map("followed");
      for (const pid of opts.follow) {
        const k = new Uint8Array(4);
        new DataView(k.buffer).setUint32(0, pid, true);
        m.update(k, Uint8Array.of(1));
      }
    }
    ring = new RingReader(obj.map(spec.ring));
    obj.attachAll();
    attachMore(obj, spec);
    const records: DecodedRecord[] = [];
    const drain = () => {
      const span = ring!.drain();
      forEachRecord(span.data, (off, len) => {
        const r = decodeRecord(span.data, off, len);
        if (r) records.push(r);
      });
    };
    let running = true;
    const pump = (async () => {
      while (running) {
        if (!opts.noDrainDuringRun) drain();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await workload();
    } finally {
      running = false;
      await pump;
    }
    obj.detachAll();
    drain();
    const losses = obj.map("losses");
    return {
      records,
      ringFull: losses.sumPerCpuU64(LOSS.ringFull),
      mapFull: losses.sumPerCpuU64(LOSS.mapFull),
      object: obj,
    };
  } finally {
    ring?.close();
    obj.close();
  }
}

/** The text of a record's tail slice. */
export function tailText(r: DecodedRecord, start: number, length: number): string {
  return cText(r.tail, start, start + length);
}

/**
 * Loads `spec` (not attached) and runs its start iterators, in order, as the recorder does at the
 * start of a recording; returns the decoded records. The object is always closed.
 */
export function startSnapshot(spec: BundleSpec, filters: Filters = {}): DecodedRecord[] {
  const obj = BpfObject.open(bundleObjectPath(spec));
  try {
    obj.setRodata({ ...commonRodata(filters, process.pid), ...(spec.rodata?.(filters) ?? {}) });
    const iterators = applyVariants(obj, spec);
    obj.load();
    const out: DecodedRecord[] = [];
    for (const it of iterators) {
      // Iterator output uses the ring's framing (u32 length, u32 reserved, record, padded to 8).
      // As the recorder does: argv from /proc where the kernel could not read it (ST_EXEC_ARGV_PROC).
      const data = spec.name === "exec" ? fillArgvFromProc(obj.runIterator(it)) : obj.runIterator(it);
      forEachRecord(data, (off, len) => {
        const r = decodeRecord(data, off, len);
        if (r) out.push(r);
      });
    }
    return out;
  } finally {
    obj.close();
  }
}
