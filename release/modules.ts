// The production node_modules of a release: exactly the lockfile's non-dev packages, copied from an installed
// tree whose versions are checked against the lock, minus sources and build leftovers nobody runs.
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  license?: string;
}

/** Paths (relative to the package directory) that runtime never reads; their licences stay. */
const PRUNE: Record<string, readonly string[]> = {
  "node_modules/zstd-napi": ["build", "src", "deps/zstd/lib", "binding.gyp", "build_flags.gypi"],
  // koffi/src holds its ESM entry (src/koffi/index.js, src/static.js) beside the C++: kept whole.
  "node_modules/koffi": ["vendor", "doc"],
  "node_modules/@koromix/koffi-linux-x64": ["musl_x64"],
  "node_modules/msgpackr/node_modules/@msgpackr-extract/msgpackr-extract-linux-x64": [
    "node.abi115.musl.node",
    "node.napi.musl.node",
    "node.abi115.glibc.node",
  ],
};

/** Copies the production packages into `dest`/node_modules; returns `name version licence` lines for THIRD-PARTY. */
export function copyProductionModules(repo: string, dest: string): string[] {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const listed: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (path === "" || entry.dev || entry.devOptional) continue;
    const src = join(repo, path);
    if (!existsSync(src)) {
      // Optional packages for other platforms (koffi-darwin-x64, …) are never installed here.
      if (entry.optional) continue;
      throw new Error(`${path} is in package-lock.json but not installed: run npm ci`);
    }
    const installed = (JSON.parse(readFileSync(join(src, "package.json"), "utf8")) as { version?: string }).version;
    if (installed !== entry.version)
      throw new Error(`${path}: installed ${installed}, locked ${entry.version}: run npm ci`);
    cpSync(src, join(dest, path), {
      recursive: true,
      dereference: true,
      // Nested node_modules are packages of their own, copied (or not) by their own lock entry; .bin holds
      // install-time symlinks.
      filter: (p) => p === src || !p.slice(src.length).split("/").includes("node_modules"),
    });
    for (const sub of PRUNE[path] ?? []) rmSync(join(dest, path, sub), { recursive: true, force: true });
    listed.push(`${path.replace(/^.*node_modules\//, "")} ${entry.version} ${entry.license ?? "see its directory"}`);
  }
  return listed;
}
