// Loads and attaches the runbook's bundles: open → configure (.rodata filters, shared maps) → load → attach.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BpfObject, createMap, type RodataValue } from "../libbpf/object.js";
import { libc } from "../libbpf/native.js";
import { RingReader } from "../libbpf/ring.js";
import type { BpfMap } from "../libbpf/map.js";
import type { BundleSpec, Filters } from "../bundles/spec.js";
import { bundleObjectPath } from "../bundles/registry.js";
import { descendants } from "./proctree.js";

/** Maps that several bundles share: the first object that has one creates it, the others reuse its fd. */
const SHARED_MAPS = ["followed", "sock_owners"];

export interface LoadedBundle {
  spec: BundleSpec;
  /** Programs left out because another loaded bundle does their work (BundleSpec.redundantWith). */
  disabled: ReadonlySet<string>;
  object: BpfObject;
  ring: RingReader;
  losses: BpfMap;
  objectSha256: string;
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
 * Opens and configures every bundle, creates the maps they share, verifies all objects in parallel
 * (worker threads: verification is most of the time to attach), seeds the followed set, then attaches.
 * On any failure everything loaded so far is closed before the error propagates: no probe outlives a
 * failed start.
 */
export async function loadBundles(specs: readonly BundleSpec[], filters: Filters, selfTgid: number): Promise<LoadedBundle[]> {
  const objects: Array<{ spec: BundleSpec; object: BpfObject; objectSha256: string; disabled: Set<string> }> = [];
  const names = new Set(specs.map((s) => s.name));
  const sharedFds: number[] = [];
  let loaded: LoadedBundle[] = [];
  try {
    for (const spec of specs) {
      const path = bundleObjectPath(spec);
      const object = BpfObject.open(path);
      const disabled = new Set(spec.redundantWith && names.has(spec.redundantWith.bundle) ? spec.redundantWith.programs : []);
      objects.push({ spec, object, objectSha256: createHash("sha256").update(readFileSync(path)).digest("hex"), disabled });
      for (const prog of disabled) object.setAutoload(prog, false);
      object.setRodata({ ...commonRodata(filters, selfTgid), ...(spec.rodata?.(filters) ?? {}) });
      object.setMaxEntries(spec.ring, spec.ringBytes);
    }
    for (const name of SHARED_MAPS) {
      const users = objects.filter((o) => o.object.mapNames().includes(name));
      if (users.length < 2) continue;
      const fd = createMap(users[0]!.object.mapSpec(name));
      sharedFds.push(fd);
      for (const u of users) u.object.reuseMap(name, fd);
    }
    await Promise.all(objects.map((o) => o.object.loadAsync()));
    loaded = objects.map((o) => ({ ...o, ring: new RingReader(o.object.map(o.spec.ring)), losses: o.object.map("losses") }));
    if (filters.pid !== undefined) {
      const holder = loaded.find((b) => b.object.mapNames().includes("followed"));
      if (holder) {
        const followed = holder.object.map("followed");
        for (const pid of descendants(filters.pid)) {
          const key = new Uint8Array(4);
          new DataView(key.buffer).setUint32(0, pid, true);
          followed.update(key, Uint8Array.of(1));
        }
      }
    }
    for (const b of loaded) b.object.attachAll();
    return loaded;
  } catch (e) {
    unloadBundles(loaded);
    for (const o of objects) o.object.close();
    throw e;
  } finally {
    // Each object holds its own reference to a shared map once loaded.
    for (const fd of sharedFds) libc().close(fd);
  }
}

/** Detaches and frees every bundle. Safe to call twice. */
export function unloadBundles(bundles: readonly LoadedBundle[]): void {
  for (const b of bundles) {
    b.ring.close();
    b.object.close();
  }
}
