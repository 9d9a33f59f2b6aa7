// Every probe bundle sealtrace ships, and where their compiled objects live.
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { BundleName, BundleSpec } from "./spec.js";
import { EXEC_BUNDLE } from "./exec.js";
import { CONNECT_BUNDLE } from "./connect.js";
import { RETRANSMIT_BUNDLE } from "./retransmit.js";
import { FILEWRITE_BUNDLE } from "./filewrite.js";
import { PRIVILEGE_BUNDLE } from "./privilege.js";

export const BUNDLES: ReadonlyMap<BundleName, BundleSpec> = new Map<BundleName, BundleSpec>(
  [EXEC_BUNDLE, CONNECT_BUNDLE, RETRANSMIT_BUNDLE, FILEWRITE_BUNDLE, PRIVILEGE_BUNDLE].map((b) => [b.name, b]),
);

/** bpf/ in the package (dist/src/bundles → ../../../bpf). */
export function bpfDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "bpf");
}

export function bundleObjectPath(spec: BundleSpec): string {
  return join(bpfDir(), spec.object);
}
