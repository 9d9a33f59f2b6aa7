// The trial load behind `doctor`: a set of bundles loaded, attached and started exactly as `record`
// does it (same loader, shared maps, tail calls, start iterators), then unloaded.
import type { BundleName, BundleSpec, Degradation } from "../bundles/spec.js";
import { loadBundles, unloadBundles } from "../recorder/loader.js";
import { bundleRefused } from "../recorder/refusal.js";

/**
 * Resolves with each bundle's degradations on this kernel; rejects with what `record` would reject
 * with (a UserError `bundle NAME: missing feature`, exit 3). Nothing stays loaded either way.
 */
export async function trialLoad(specs: readonly BundleSpec[]): Promise<Map<BundleName, Degradation[]>> {
  const loaded = await loadBundles(specs, {}, process.pid);
  try {
    for (const b of loaded) {
      for (const it of b.spec.startIterators.filter((i) => !b.disabled.has(i))) {
        try {
          b.object.runIterator(it);
        } catch (e) {
          throw bundleRefused(b.spec.name, e);
        }
      }
    }
    return new Map(loaded.map((b) => [b.spec.name, b.degradations]));
  } finally {
    unloadBundles(loaded);
  }
}

/** "ok" details: "3 tracepoints" or "degraded: argv of ... (no bpf_copy_from_user_task, 5.18); ...". */
export function formatDegradations(ds: readonly Degradation[]): string {
  return ds.map((d) => `${d.feature} (${d.reason})`).join("; ");
}
