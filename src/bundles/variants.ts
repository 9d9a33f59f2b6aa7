// Picks each bundle's program variants for a kernel's features (BundleSpec.variants).
import type { KernelFeature } from "../libbpf/features.js";
import type { BundleSpec } from "./spec.js";

export interface VariantChoice {
  /** Program name as the spec writes it → the program loaded for it (itself or its fallback); absent: left out. */
  resolve: (program: string) => string | undefined;
  /** Programs that must be off: the replaced ones and the unused fallbacks. */
  off: string[];
  /** Fallbacks that must be turned on ("?" programs). */
  on: string[];
  /** What this kernel cannot give, or gives another way (session metadata "unavailable"). */
  unavailable: string[];
}

/** The variants of `spec` for a kernel with `features`. Pure: the loader applies it to the object. */
export function chooseVariants(spec: BundleSpec, features: ReadonlySet<KernelFeature>): VariantChoice {
  const map = new Map<string, string | undefined>();
  const off: string[] = [];
  const on: string[] = [];
  const unavailable: string[] = [];
  for (const v of spec.variants ?? []) {
    const missing = v.needs.filter((f) => !features.has(f));
    if (missing.length === 0) {
      if (v.fallback) {
        off.push(v.fallback);
        map.set(v.fallback, undefined); // not loaded here: a tail call naming it finds nothing
      }
      continue;
    }
    if (v.unavailable) unavailable.push(v.unavailable);
    if (!v.program) {
      // No program it replaces (the new way is several programs, each with its own entry): the fallback alone.
      if (v.fallback) on.push(v.fallback);
      continue;
    }
    off.push(v.program);
    map.set(v.program, v.fallback);
    if (v.fallback) on.push(v.fallback);
  }
  return { resolve: (p) => (map.has(p) ? map.get(p) : p), off, on, unavailable };
}
