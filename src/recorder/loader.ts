// Loads and attaches the runbook's bundles: open → configure (.rodata filters, shared maps) → load → attach.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BpfObject, type RodataValue } from "../libbpf/object.js";
import { RingReader } from "../libbpf/ring.js";
import type { BpfMap } from "../libbpf/map.js";
import type { BundleSpec, Filters } from "../bundles/spec.js";
import { bundleObjectPath } from "../bundles/registry.js";
import { descendants } from "./proctree.js";

/** Maps that several bundles share: the first object that has one creates it, the others reuse its fd. */
const SHARED_MAPS = ["followed", "sock_owners"];

export interface LoadedBundle {
  spec: BundleSpec;
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
 * Opens, configures and loads every bundle, seeds the followed set, then attaches. On any failure
 * everything loaded so far is closed before the error propagates: no probe outlives a failed start.
 */
export function loadBundles(specs: readonly BundleSpec[], filters: Filters, selfTgid: number): LoadedBundle[] {
  const loaded: LoadedBundle[] = [];
  const shared = new Map<string, number>();
  try {
    for (const spec of specs) {
      const path = bundleObjectPath(spec);
      const object = BpfObject.open(path);
      const bundle = { spec, object, objectSha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
      try {
        object.setRodata({ ...commonRodata(filters, selfTgid), ...(spec.rodata?.(filters) ?? {}) });
        object.setMaxEntries(spec.ring, spec.ringBytes);
        const maps = object.mapNames();
        for (const name of SHARED_MAPS) {
          const fd = shared.get(name);
          if (fd !== undefined && maps.includes(name)) object.reuseMap(name, fd);
        }
        object.load();
        for (const name of SHARED_MAPS) if (maps.includes(name) && !shared.has(name)) shared.set(name, object.map(name).fd);
        loaded.push({ ...bundle, ring: new RingReader(object.map(spec.ring)), losses: object.map("losses") });
      } catch (e) {
        object.close();
        throw e;
      }
    }
    const followedFd = shared.get("followed");
    if (filters.pid !== undefined && followedFd !== undefined) {
      const followed = loaded.find((b) => b.object.mapNames().includes("followed"))!.object.map("followed");
      for (const pid of descendants(filters.pid)) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, pid, true);
        followed.update(key, Uint8Array.of(1));
      }
    }
    for (const b of loaded) b.object.attachAll();
    return loaded;
  } catch (e) {
    unloadBundles(loaded);
    throw e;
  }
}

/** Detaches and frees every bundle. Safe to call twice. */
export function unloadBundles(bundles: readonly LoadedBundle[]): void {
  for (const b of bundles) {
    b.ring.close();
    b.object.close();
  }
}
