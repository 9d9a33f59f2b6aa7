// Debian root file systems made by debootstrap, cached between runs: the bare hosts the release is proven on,
// and the Debian 11 build root that compiles zstd-napi against glibc 2.31.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** Where roots are kept between runs; a fresh machine makes them on first use (a few minutes each). */
export const ROOTS_DIR = process.env.SEALTRACE_ROOTS_DIR ?? "/var/cache/sealtrace-roots";
const MIRROR = "http://deb.debian.org/debian";

export interface RootSpec {
  readonly name: string;
  readonly suite: string;
  /** Packages added to minbase; empty for a bare host. */
  readonly include: readonly string[];
}

export const BARE_ROOTS: readonly RootSpec[] = [
  { name: "bullseye", suite: "bullseye", include: [] },
  { name: "bookworm", suite: "bookworm", include: [] },
];
export const BUILD_ROOT: RootSpec = {
  name: "bullseye-build",
  suite: "bullseye",
  include: ["g++", "make", "libelf1", "zlib1g"],
};

/** Returns the root's path, making it with `debootstrap --variant=minbase` when the cache lacks it or holds another spec. */
export function ensureRoot(spec: RootSpec, log: (s: string) => void): string {
  const dir = join(ROOTS_DIR, spec.name);
  const stamp = `${dir}.spec`;
  const want = JSON.stringify(spec);
  if (existsSync(join(dir, "etc", "debian_version")) && existsSync(stamp) && readFileSync(stamp, "utf8") === want)
    return dir;
  mkdirSync(ROOTS_DIR, { recursive: true });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  log(`debootstrap --variant=minbase ${spec.suite} into ${dir} (cached for later runs)`);
  const include = spec.include.length ? [`--include=${spec.include.join(",")}`] : [];
  execFileSync("debootstrap", ["--variant=minbase", ...include, spec.suite, tmp, MIRROR], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(stamp, want);
  return dir;
}
