// Native code a release carries that must run on glibc 2.31: zstd-napi compiled in the Debian 11 build root,
// and the libelf and zlib that the bundled libbpf.so.1 links to, taken from the same root's Debian packages.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync } from "node:fs";
import { join } from "node:path";
import { Chroot } from "./chroot.js";
import { BUILD_ROOT, ensureRoot } from "./roots.js";
import { CACHE_DIR } from "./fetch.js";

function dpkgVersion(root: string, pkg: string): string {
  return execFileSync("chroot", [root, "dpkg-query", "-W", "-f=${Version}", pkg], { encoding: "utf8" }).trim();
}

/**
 * zstd-napi's binding.node for glibc >= 2.31. Cached by the inputs that decide its bytes: the zstd-napi
 * version, the build script, the compiler's package version and the Node headers' version.
 */
export function buildZstdBinding(args: {
  repo: string;
  nodeDir: string;
  nodeVersion: string;
  here: string;
  log: (s: string) => void;
}): string {
  const root = ensureRoot(BUILD_ROOT, args.log);
  const zstdDir = join(args.repo, "node_modules", "zstd-napi");
  const zstdVersion = (JSON.parse(readFileSync(join(zstdDir, "package.json"), "utf8")) as { version: string }).version;
  const script = readFileSync(join(args.here, "zstd-napi.sh"));
  const key = createHash("sha256")
    .update(`${zstdVersion}\n${dpkgVersion(root, "g++")}\n${dpkgVersion(root, "libc6")}\n${args.nodeVersion}\n`)
    .update(script)
    .digest("hex")
    .slice(0, 16);
  const cached = join(CACHE_DIR, `zstd-napi-${zstdVersion}-${key}.node`);
  if (existsSync(cached)) return cached;
  args.log(`compiling zstd-napi ${zstdVersion} in the Debian 11 build root (about a minute)`);
  const c = Chroot.open(root, "build", { kernel: false });
  try {
    const b = join(c.root, "build");
    mkdirSync(b);
    cpSync(realpathSync(zstdDir), join(b, "zstd-napi"), {
      recursive: true,
      filter: (p) => !p.includes("/build/") && !p.endsWith("/build"),
    });
    cpSync(join(args.nodeDir, "include", "node"), join(b, "node-include"), { recursive: true });
    cpSync(realpathSync(join(args.repo, "node_modules", "node-addon-api")), join(b, "node-addon-api"), {
      recursive: true,
    });
    copyFileSync(join(args.here, "zstd-napi.sh"), join(b, "zstd-napi.sh"));
    const r = c.run(
      [
        "sh",
        "/build/zstd-napi.sh",
        "/build/zstd-napi",
        "/build/node-include",
        "/build/node-addon-api",
        "/build/binding.node",
      ],
      { timeoutMs: 900_000 },
    );
    if (r.status !== 0) throw new Error(`zstd-napi build failed (${r.status ?? r.signal}):\n${r.stderr}`);
    mkdirSync(CACHE_DIR, { recursive: true });
    copyFileSync(join(b, "binding.node"), `${cached}.tmp`);
    renameSync(`${cached}.tmp`, cached);
  } finally {
    c.close();
  }
  return cached;
}

/** Copies libelf.so.1 and libz.so.1 (the real files, under their sonames) and their copyright files. */
export function copyBuildRootLibs(
  libDir: string,
  licensesDir: string,
  log: (s: string) => void,
): Record<string, string> {
  const root = ensureRoot(BUILD_ROOT, log);
  const libs: Array<[string, string, string]> = [
    ["libelf1", "usr/lib/x86_64-linux-gnu/libelf.so.1", "libelf.so.1"],
    ["zlib1g", "lib/x86_64-linux-gnu/libz.so.1", "libz.so.1"],
  ];
  const versions: Record<string, string> = {};
  for (const [pkg, path, soname] of libs) {
    // realpath inside the root: the soname is a symlink to the versioned file.
    const target = execFileSync("chroot", [root, "readlink", "-f", `/${path}`], { encoding: "utf8" }).trim();
    copyFileSync(join(root, target), join(libDir, soname));
    copyFileSync(join(root, "usr", "share", "doc", pkg, "copyright"), join(licensesDir, `${pkg}.copyright`));
    versions[pkg] = `${dpkgVersion(root, pkg)} (Debian 11)`;
  }
  return versions;
}
