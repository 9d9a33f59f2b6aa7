// The trial load behind `doctor`: a set of bundles loaded, attached and started exactly as `record`
// does it (same loader, shared maps, tail calls, start iterators), then unloaded.
import type { BundleName, BundleSpec } from "../bundles/spec.js";
import { loadBundles, unloadBundles } from "../recorder/loader.js";
import { bundleRefused } from "../recorder/refusal.js";

/**
 * Resolves with what each bundle cannot give on this kernel (BundleSpec.variants' `unavailable`); rejects with what `record` would reject
 * with (a UserError(unsupported) `bundle NAME: missing feature`). Nothing stays loaded either way.
 */
export async function trialLoad(specs: readonly BundleSpec[]): Promise<Map<BundleName, string[]>> {
  const loaded = await loadBundles(specs, {}, process.pid);
  try {
    for (const b of loaded) {
      for (const it of b.iterators) {
        try {
          b.object.runIterator(it);
        } catch (e) {
          throw bundleRefused(b.spec.name, e);
        }
      }
    }
    return new Map(loaded.map((b) => [b.spec.name, b.unavailable]));
  } finally {
    unloadBundles(loaded);
  }
}

/** What follows "degraded: ", e.g. "snapshot.argv: read from /proc/<pid>/cmdline by the recorder, ... (no bpf_copy_from_user_task before 5.18); ...". */
export function formatDegradations(ds: readonly string[]): string {
  return ds.join("; ");
}
