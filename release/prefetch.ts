// Makes (or finds cached) every Debian root the release needs, so CI can do it in the background while the
// main suite runs: on a fresh machine that is three debootstraps, mostly download and unpack.
import { BARE_ROOTS, BUILD_ROOT, ensureRoot } from "./roots.js";

const log = (s: string) => process.stderr.write(`release roots: ${s}\n`);
for (const spec of [BUILD_ROOT, ...BARE_ROOTS]) log(`${spec.name} ready at ${ensureRoot(spec, log)}`);
