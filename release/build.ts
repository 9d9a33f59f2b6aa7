// `npm run release`: builds sealtrace-VERSION-linux-x64.tar.gz and SHA256SUMS from the committed tree at HEAD:
// its own Node, dist/, production node_modules with prebuilt addons, BPF objects, runbooks, docs, licences,
// libbpf.so.1 with libelf and zlib, and a `sealtrace` launcher. Runs on glibc >= 2.31 (docs/RELEASE.md).
// Usage: node dist/release/build.js [--out DIR]   (root: the zstd-napi build uses a chroot)
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildZstdBinding, copyBuildRootLibs } from "./addons.js";
import { fetchLibbpf, fetchNode, type Pins } from "./fetch.js";
import { copyProductionModules } from "./modules.js";
import { reproducibleTarGz } from "./tarball.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HERE = join(REPO, "release");
const log = (s: string) => process.stderr.write(`release: ${s}\n`);
const git = (...args: string[]) => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8" }).trim();

export interface ReleaseResult {
  tarball: string;
  sha256: string;
  bytes: number;
}

/** Builds the release into `outDir`; every temp dir is removed whatever happens. */
export function buildRelease(outDir: string): ReleaseResult {
  const pins = JSON.parse(readFileSync(join(HERE, "pins.json"), "utf8")) as Pins;
  const commit = git("rev-parse", "HEAD");
  // Every mtime in the tarball is the commit's time: the same commit gives the same bytes.
  const epoch = Number(git("log", "-1", "--format=%ct", commit));
  const tmp = mkdtempSync("/tmp/st-rel-stage-");
  try {
    // 1. The committed tree, compiled: uncommitted edits never reach a release.
    const src = join(tmp, "src");
    mkdirSync(src);
    execFileSync("bash", [
      "-o",
      "pipefail",
      "-c",
      `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`,
      "git",
      REPO,
      commit,
      src,
    ]);
    const version = (JSON.parse(readFileSync(join(src, "package.json"), "utf8")) as { version: string }).version;
    const name = `sealtrace-${version}`;
    const root = join(tmp, name);
    symlinkSync(realpathSync(join(REPO, "node_modules")), join(src, "node_modules"));
    writeFileSync(
      join(src, "tsconfig.release.json"),
      JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { sourceMap: false }, include: ["src/**/*.ts"] }),
    );
    log(`compiling ${commit.slice(0, 12)} (${name})`);
    execFileSync(
      process.execPath,
      [join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", join(src, "tsconfig.release.json")],
      { stdio: "inherit" },
    );

    // 2. What the package ships.
    mkdirSync(join(root, "bpf"), { recursive: true });
    cpSync(join(src, "dist", "src"), join(root, "dist", "src"), { recursive: true });
    for (const f of readdirSync(join(src, "bpf")).filter((n) => n.endsWith(".bpf.o") || n === "objects.sha256"))
      copyFileSync(join(src, "bpf", f), join(root, "bpf", f));
    // runbooks/ and rules/ are read at run time (the shipped runbooks' sources, hunt's built-in rule pack).
    for (const d of ["runbooks", "rules", "docs"]) cpSync(join(src, d), join(root, d), { recursive: true });
    for (const f of ["README.md", "LICENSE"]) copyFileSync(join(src, f), join(root, f));
    const pkg = JSON.parse(readFileSync(join(src, "package.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(
      join(root, "package.json"),
      JSON.stringify(
        {
          name: pkg.name,
          version,
          description: pkg.description,
          type: "module",
          license: pkg.license,
          dependencies: pkg.dependencies,
        },
        null,
        2,
      ) + "\n",
    );
    copyFileSync(join(HERE, "launcher.sh"), join(root, "sealtrace"));
    chmodSync(join(root, "sealtrace"), 0o755);

    // 3. Node runtime.
    const nodeTgz = fetchNode(pins, log);
    const nodeDir = join(tmp, "node-package");
    mkdirSync(nodeDir);
    execFileSync("tar", ["-xzf", nodeTgz, "-C", nodeDir, "--strip-components=1"]);
    mkdirSync(join(root, "node", "bin"), { recursive: true });
    copyFileSync(join(nodeDir, "bin", "node"), join(root, "node", "bin", "node"));
    chmodSync(join(root, "node", "bin", "node"), 0o755);
    copyFileSync(join(nodeDir, "LICENSE"), join(root, "node", "LICENSE"));

    // 4. node_modules, with zstd-napi rebuilt for glibc 2.31.
    const thirdParty = copyProductionModules(REPO, root);
    const binding = buildZstdBinding({ repo: REPO, nodeDir, nodeVersion: pins.node.version, here: HERE, log });
    mkdirSync(join(root, "node_modules", "zstd-napi", "build", "Release"), { recursive: true });
    copyFileSync(binding, join(root, "node_modules", "zstd-napi", "build", "Release", "binding.node"));

    // 5. libbpf.so.1 and what it links to, with their Debian copyright files.
    const lib = join(root, "lib");
    const licenses = join(root, "licenses");
    mkdirSync(lib);
    mkdirSync(licenses);
    const debDir = join(tmp, "libbpf1");
    execFileSync("dpkg-deb", ["-x", fetchLibbpf(pins, log), debDir]);
    const libbpfReal = realpathSync(join(debDir, "usr", "lib", "x86_64-linux-gnu", "libbpf.so.1"));
    copyFileSync(libbpfReal, join(lib, "libbpf.so.1"));
    copyFileSync(join(debDir, "usr", "share", "doc", "libbpf1", "copyright"), join(licenses, "libbpf1.copyright"));
    const debian = { libbpf1: `${pins.libbpf1.version} (Debian 12)`, ...copyBuildRootLibs(lib, licenses, log) };
    writeFileSync(
      join(licenses, "THIRD-PARTY.txt"),
      [
        "Third-party software in this release, with the licence each declares. Each npm package's own licence",
        "text is in its node_modules directory; Node's is node/LICENSE; the Debian libraries' are *.copyright here.",
        "",
        `node ${pins.node.version} (${pins.node.package} from the npm registry) MIT and others: node/LICENSE`,
        ...Object.entries(debian).map(([p, v]) => `${p} ${v}: licenses/${p}.copyright`),
        ...thirdParty,
        "",
      ].join("\n"),
    );

    // 6. What the build is: read by `sealtrace version --verbose` and sealed into every session.
    writeFileSync(
      join(root, "BUILD.json"),
      JSON.stringify(
        { name: "sealtrace", version, commit, sourceDateEpoch: epoch, node: pins.node.version, debian },
        null,
        2,
      ) + "\n",
    );

    // 7. The tarball and its checksum file.
    mkdirSync(outDir, { recursive: true });
    const file = `${name}-linux-x64.tar.gz`;
    log(`packing ${file}`);
    const sha256 = reproducibleTarGz({ parent: tmp, dir: name, mtimeS: epoch, out: join(outDir, file) });
    writeFileSync(join(outDir, "SHA256SUMS"), `${sha256}  ${file}\n`);
    const bytes = readFileSync(join(outDir, file)).length;
    return { tarball: join(outDir, file), sha256, bytes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf("--out");
  const out = i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : join(REPO, "release", "out");
  const t0 = Date.now();
  const r = buildRelease(out);
  log(
    `${r.tarball}: ${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
}
