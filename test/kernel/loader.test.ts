// The loader: every bundle verified and attached, at most one verifier per core with the first bundle
// first, and on a failure nothing left loaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBundles, unloadBundles } from "../../src/recorder/loader.js";
import { BUNDLES } from "../../src/bundles/registry.js";
import { assertNoProbes, loadedPrograms, OUR_PROGRAM } from "../helpers/bpf.js";

const ours = () => [...loadedPrograms().values()].filter((n) => OUR_PROGRAM.test(n));

test("all four bundles load and attach; the first is live first; unloading leaves nothing", async () => {
  await assertNoProbes();
  const specs = [...BUNDLES.values()];
  const bundles = await loadBundles(specs, {}, process.pid);
  try {
    assert.deepEqual(bundles.map((b) => b.spec.name), specs.map((s) => s.name));
    for (const b of bundles) assert.ok(b.object.programNames().length > 0 && b.attachedMs > 0, b.spec.name);
    const first = bundles[0]!.attachedMs;
    for (const b of bundles.slice(1)) assert.ok(b.attachedMs >= first, `${b.spec.name} went live before ${bundles[0]!.spec.name}`);
    // bpftool names a program in full from its BTF, or by the kernel's 15 characters.
    const loaded = ours();
    const isLoaded = (p: string) => loaded.some((n) => n === p || (n.length === 15 && p.startsWith(n)));
    for (const b of bundles) {
      for (const p of b.object.programNames()) assert.equal(isLoaded(p), !b.disabled.has(p), `${p}: loaded unless another bundle does its work`);
    }
  } finally {
    unloadBundles(bundles);
  }
  await assertNoProbes();
});

test("a bundle that fails to load: the error propagates and nothing stays loaded", async () => {
  await assertNoProbes();
  // A ring buffer of size 0: libbpf passes it on and the kernel refuses the map at load.
  const specs = [...BUNDLES.values()].map((s) => (s.name === "connect" ? { ...s, ringBytes: 0 } : s));
  await assert.rejects(loadBundles(specs, {}, process.pid), /connect\.bpf\.o|refused|EINVAL|Invalid/i);
  await assertNoProbes();
});
