// Loads and attaches the runbook's bundles: open → configure (.rodata filters, shared maps) → load → attach.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { BpfObject, createMap, type RodataValue } from "../libbpf/object.js";
import { libc } from "../libbpf/native.js";
import { RingReader } from "../libbpf/ring.js";
import { BpfMap, u32le } from "../libbpf/map.js";
import type { BundleSpec, Filters } from "../bundles/spec.js";
import { bundleObjectPath } from "../bundles/registry.js";
import { descendants } from "./proctree.js";
import { bundleRefused } from "./refusal.js";
import { chooseVariants } from "../bundles/variants.js";
import { kernelFeatures, type KernelFeature } from "../libbpf/features.js";
import { tracepointExists } from "../libbpf/tracefs.js";

/** Maps that several bundles share: the first object that has one creates it, the others reuse its fd. */
const SHARED_MAPS = ["followed", "sock_owners", "sys_exit_tails"];

export interface LoadedBundle {
  spec: BundleSpec;
  /** Programs left out: another loaded bundle does their work (BundleSpec.redundantWith), or they are the
   * variant this kernel does not run (BundleSpec.variants). */
  disabled: ReadonlySet<string>;
  /** The start iterators to run, in order, as this kernel's variants name them. */
  iterators: string[];
  /** What this kernel cannot give for this bundle, or gives another way (BundleSpec.variants). */
  unavailable: string[];
  object: BpfObject;
  ring: RingReader;
  losses: BpfMap;
  objectSha256: string;
  /** When this bundle's probes went live, in ms since the process started. */
  attachedMs: number;
}

/** The .rodata values every bundle understands (bpf/common.bpf.h). */
export function commonRodata(filters: Filters, selfTgid: number): Record<string, RodataValue> {
  const comm = filters.comm ? Buffer.from(filters.comm, "utf8").subarray(0, 15) : Buffer.alloc(0);
  return {
    cfg_self_tgid: selfTgid,
    cfg_follow: filters.pid !== undefined,
    cfg_cgroup_id: filters.cgroupId ?? 0n,
    cfg_uid_set: filters.uid !== undefined,
    cfg_uid: filters.uid ?? 0,
    cfg_comm_len: comm.length,
    cfg_comm: comm,
  };
}

/**
 * Opens and configures every bundle, creates the maps they share (the followed set seeded before any
 * program runs), then verifies the objects on worker threads (verification is most of the time
 * to attach) and attaches each one as soon as it is verified. The first spec (the recorder puts exec
 * first) goes live alone and first, instead of waiting behind the slowest object. On any failure
 * everything loaded so far is closed before the error propagates: no probe outlives a failed start.
 */
export async function loadBundles(
  specs: readonly BundleSpec[],
  filters: Filters,
  selfTgid: number,
  features: ReadonlySet<KernelFeature> = kernelFeatures(),
): Promise<LoadedBundle[]> {
  const objects: Array<{
    spec: BundleSpec;
    object: BpfObject;
    objectSha256: string;
    disabled: Set<string>;
    iterators: string[];
    unavailable: string[];
    tail?: NonNullable<BundleSpec["tailCallFrom"]>;
  }> = [];
  const names = new Set(specs.map((s) => s.name));
  const sharedFds: number[] = [];
  try {
    for (const spec of specs) {
      const path = bundleObjectPath(spec);
      let object: BpfObject;
      try {
        object = BpfObject.open(path);
      } catch (e) {
        throw bundleRefused(spec.name, e);
      }
      const { disabled, iterators, unavailable, tail } = configureObject(object, spec, names, features);
      objects.push({
        spec,
        object,
        objectSha256: createHash("sha256").update(readFileSync(path)).digest("hex"),
        disabled,
        iterators,
        unavailable,
        ...(tail ? { tail } : {}),
      });
      object.setRodata({ ...commonRodata(filters, selfTgid), ...(spec.rodata?.(filters) ?? {}) });
      object.setMaxEntries(spec.ring, spec.ringBytes);
    }
    for (const name of SHARED_MAPS) {
      const users = objects.filter((o) => o.object.mapNames().includes(name));
      // `followed` is created here even for one user when there is a pid to seed before anything attaches.
      const seed = name === "followed" && filters.pid !== undefined;
      if (users.length === 0 || (users.length < 2 && !seed)) continue;
      const spec = users[0]!.object.mapSpec(name);
      const fd = createMap(spec);
      sharedFds.push(fd);
      for (const u of users) u.object.reuseMap(name, fd);
      if (seed)
        seedFollowed(new BpfMap(name, fd, spec.keySize, spec.valueSize, spec.maxEntries, spec.type), filters.pid!);
    }
    // At most one verifier per core, the first object first: on two cores, four verifiers at once left
    // the first bundle waiting ~4x longer than alone, while the first alone left a core idle. So the
    // first object starts with the second, and each object that finishes starts the next.
    // Verification overlaps, but nothing attaches before the first object is live: a smaller object
    // verified sooner waits for it (the first bundle goes live first, as the recorder puts exec first).
    let firstLive!: { resolve: () => void; reject: (e: unknown) => void };
    const firstAttached = new Promise<void>((resolve, reject) => (firstLive = { resolve, reject }));
    const firstOk = firstAttached.then(
      () => true,
      () => false,
    );
    const goLive = async (o: (typeof objects)[number]): Promise<number> => {
      const first = o === objects[0];
      try {
        await o.object.loadAsync();
        // After the first one's failure, nothing else attaches; that failure is the one thrown.
        if (!first && !(await firstOk)) return -1;
        // Into the array the other bundle's program calls through (shared, so its load order does not matter).
        if (o.tail) o.object.setTailCall(o.tail.map, o.tail.slot, o.tail.program);
        o.object.attachAll(new Set(o.tail ? [o.tail.program] : []));
        attachMore(o.object, o.spec);
      } catch (e) {
        if (first) firstLive.reject(e);
        // "bundle NAME: the missing feature": the line doctor prints for this bundle.
        throw bundleRefused(o.spec.name, e);
      }
      if (first) firstLive.resolve();
      return process.uptime() * 1000;
    };
    const attachedMs = await runInPool(objects, goLive, Math.max(1, availableParallelism()));
    return objects.map((o, i) => ({
      ...o,
      ring: new RingReader(o.object.map(o.spec.ring)),
      losses: o.object.map("losses"),
      attachedMs: attachedMs[i]!,
    }));
  } catch (e) {
    for (const o of objects) o.object.close();
    throw e;
  } finally {
    // Each object holds its own reference to a shared map once loaded.
    for (const fd of sharedFds) libc().close(fd);
  }
}

/**
 * Chooses which of an opened object's programs load: this kernel's variants (BundleSpec.variants), minus
 * the work another loaded bundle (`loaded`) already does, plus the tail-call target when its caller is
 * loaded. Returns the programs left out, the start iterators to run and what the kernel cannot give.
 */
export function configureObject(
  object: BpfObject,
  spec: BundleSpec,
  loaded: ReadonlySet<string>,
  features: ReadonlySet<KernelFeature>,
): {
  disabled: Set<string>;
  iterators: string[];
  unavailable: string[];
  tail?: NonNullable<BundleSpec["tailCallFrom"]>;
} {
  const choice = chooseVariants(spec, features);
  const disabled = new Set(choice.off);
  const add = (p: string) => {
    const r = choice.resolve(p);
    if (r) disabled.add(r);
  };
  if (spec.redundantWith && loaded.has(spec.redundantWith.bundle)) spec.redundantWith.programs.forEach(add);
  let tail: NonNullable<BundleSpec["tailCallFrom"]> | undefined;
  if (spec.tailCallFrom) {
    const program = choice.resolve(spec.tailCallFrom.program);
    const instead = choice.resolve(spec.tailCallFrom.instead);
    if (loaded.has(spec.tailCallFrom.bundle) && program && instead) {
      tail = { ...spec.tailCallFrom, program, instead };
      disabled.add(instead);
    } else {
      add(spec.tailCallFrom.program); // never attached itself: without its caller it has no use
    }
  }
  for (const p of choice.on) if (!disabled.has(p)) object.setAutoload(p, true);
  if (tail) object.setAutoload(tail.program, true);
  for (const p of disabled) object.setAutoload(p, false);
  const iterators = spec.startIterators
    .map((i) => choice.resolve(i))
    .filter((i): i is string => i !== undefined && !disabled.has(i));
  return { disabled, iterators, unavailable: choice.unavailable, ...(tail ? { tail } : {}) };
}

/** BundleSpec.alsoAttach: the loaded syscall programs on their other syscalls' exit tracepoints. */
export function attachMore(object: BpfObject, spec: BundleSpec): void {
  for (const [program, tracepoints] of Object.entries(spec.alsoAttach ?? {})) {
    if (!object.loads(program)) continue; // a compat kernel's variant runs instead
    for (const [category, name] of tracepoints)
      if (tracepointExists(category, name)) object.attachTracepoint(program, category, name);
  }
}

/**
 * Runs `work` on every item, at most `width` at a time, starting them in order; each one that settles
 * starts the next. After a failure nothing new starts, and the first failure is thrown once the work
 * in flight has settled (an object must not be closed while a worker thread is still verifying it).
 */
async function runInPool<T, R>(items: readonly T[], work: (item: T) => Promise<R>, width: number): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}

/** Puts the target pid and its living descendants in the followed set; the fork probe adds later children. */
function seedFollowed(followed: BpfMap, pid: number): void {
  for (const p of descendants(pid)) followed.update(u32le(p), Uint8Array.of(1));
}

/** Detaches and frees every bundle. Safe to call twice. */
export function unloadBundles(bundles: readonly LoadedBundle[]): void {
  for (const b of bundles) {
    b.ring.close();
    b.object.close();
  }
}
