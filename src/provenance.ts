// Which build is running: version, commit, Node, and the SHA-256 of every BPF object and of the dist/src tree.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "./version.js";

export interface Provenance {
  version: string;
  /** 40 hex digits, or "unknown" when neither a release's BUILD.json nor a git checkout names it. */
  commit: string;
  /** Where the commit came from: a release tarball's BUILD.json, or the git checkout the code runs from. */
  source: "release" | "git checkout" | "unknown";
  node: string;
  /** SHA-256 of the dist/src manifest (see treeSha256). */
  distSha256: string;
  distFiles: number;
  /** Every BPF object the build ships, by file name. */
  objects: Array<{ name: string; sha256: string }>;
}

/** The directory holding dist/, bpf/ and (in a release) BUILD.json: two levels above dist/src. */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = statSync(join(dir, name));
    if (st.isDirectory()) out.push(...listFiles(join(dir, name), rel));
    else if (st.isFile()) out.push(rel);
  }
  return out;
}

/**
 * SHA-256 of a tree: the hash of its `sha256sum`-style manifest, one `HEX  RELPATH\n` line per regular
 * file, sorted by path in byte order. Reproducible by hand:
 * `cd DIR && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum`.
 */
export function treeSha256(dir: string): { sha256: string; files: number } {
  const files = listFiles(dir).sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
  const manifest = files.map((f) => `${sha256File(join(dir, f))}  ${f}\n`).join("");
  return { sha256: createHash("sha256").update(manifest).digest("hex"), files: files.length };
}

const HEX40 = /^[0-9a-f]{40}$/;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** HEAD's commit of the checkout at `root`, read from .git without running git (worktrees and packed refs too). */
export function gitCommit(root: string): string | undefined {
  const dotGit = join(root, ".git");
  if (!existsSync(dotGit)) return undefined;
  let gitDir = dotGit;
  if (statSync(dotGit).isFile()) {
    const m = /^gitdir: (.+)$/m.exec(readText(dotGit) ?? "");
    if (!m) return undefined;
    gitDir = isAbsolute(m[1]!) ? m[1]! : join(root, m[1]!);
  }
  const head = readText(join(gitDir, "HEAD"));
  if (!head) return undefined;
  if (HEX40.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const common = readText(join(gitDir, "commondir"));
  const commonDir = common === undefined ? gitDir : isAbsolute(common) ? common : join(gitDir, common);
  for (const dir of [gitDir, commonDir]) {
    const loose = readText(join(dir, ref));
    if (loose && HEX40.test(loose)) return loose;
  }
  const packed = readText(join(commonDir, "packed-refs")) ?? "";
  for (const line of packed.split("\n")) {
    const [hash, name] = line.split(" ");
    if (name === ref && hash && HEX40.test(hash)) return hash;
  }
  return undefined;
}

function releaseCommit(root: string): string | undefined {
  const text = readText(join(root, "BUILD.json"));
  if (text === undefined) return undefined;
  const commit = (JSON.parse(text) as { commit?: unknown }).commit;
  return typeof commit === "string" && HEX40.test(commit) ? commit : undefined;
}

/** Facts about the running build. Reads and hashes dist/src and bpf/*.bpf.o (about a megabyte): call it off the attach path. */
export function readProvenance(root: string = packageRoot()): Provenance {
  const fromRelease = releaseCommit(root);
  const fromGit = fromRelease === undefined ? gitCommit(root) : undefined;
  const dist = treeSha256(join(root, "dist", "src"));
  const bpfDir = join(root, "bpf");
  const objects = readdirSync(bpfDir)
    .filter((n) => n.endsWith(".bpf.o"))
    .sort()
    .map((name) => ({ name, sha256: sha256File(join(bpfDir, name)) }));
  return {
    version: VERSION,
    commit: fromRelease ?? fromGit ?? "unknown",
    source: fromRelease ? "release" : fromGit ? "git checkout" : "unknown",
    node: process.version,
    distSha256: dist.sha256,
    distFiles: dist.files,
    objects,
  };
}
