// The release tarball the tests take: $SEALTRACE_RELEASE_TARBALL, or what `npm run release` left in release/out/.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";

export function releaseTarball(): string {
  const env = process.env.SEALTRACE_RELEASE_TARBALL;
  if (env) return env;
  const out = join(ROOT, "release", "out");
  const found = existsSync(out) ? readdirSync(out).filter((n) => /^sealtrace-.*-linux-x64\.tar\.gz$/.test(n)) : [];
  if (found.length !== 1)
    throw new Error(`expected one tarball in ${out} (run \`npm run release\` first), found ${found.length}`);
  return join(out, found[0]!);
}
