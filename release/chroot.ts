// A throwaway chroot over a cached root: an overlay keeps the cache pristine, and every mount made is unmounted.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Every temp dir and mount of the release work starts with this, so a sweep finds exactly ours. */
export const TMP_PREFIX = "/tmp/st-rel-";

function mount(args: string[]): void {
  execFileSync("mount", args, { stdio: ["ignore", "ignore", "inherit"] });
}

/** Our mounts still present (deepest first), e.g. after a crashed run. */
export function leftoverMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(TMP_PREFIX))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts whatever a previous run left under /tmp/st-rel-*. */
export function sweepMounts(): void {
  for (const p of leftoverMounts()) spawnSync("umount", ["-l", p]);
}

export interface ChrootOptions {
  /** Bind the kernel interfaces recording needs: /sys (tracefs, cgroup2 inside) and a private bpffs. */
  readonly kernel: boolean;
}

export class Chroot {
  readonly root: string;
  private readonly base: string;
  private readonly children = new Set<ChildProcess>();

  private constructor(base: string) {
    this.base = base;
    this.root = join(base, "root");
  }

  /** Mounts an overlay of `lower` with /proc and /dev (and with `kernel`, /sys and bpffs) inside. */
  static open(lower: string, tag: string, opts: ChrootOptions): Chroot {
    const c = new Chroot(mkdtempSync(`${TMP_PREFIX}${tag}-`));
    for (const d of ["upper", "work", "root"]) mkdirSync(join(c.base, d));
    try {
      mount([
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${lower},upperdir=${join(c.base, "upper")},workdir=${join(c.base, "work")}`,
        c.root,
      ]);
      mount(["-t", "proc", "proc", join(c.root, "proc")]);
      mount(["--bind", "/dev", join(c.root, "dev")]);
      if (opts.kernel) {
        // /sys with everything mounted below it (tracefs, the cgroup hierarchies), made a slave so that the
        // bpffs mounted here does not propagate back to the host's /sys/fs/bpf.
        mount(["--rbind", "/sys", join(c.root, "sys")]);
        mount(["--make-rslave", join(c.root, "sys")]);
        mount(["-t", "bpf", "bpf", join(c.root, "sys", "fs", "bpf")]);
      }
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Runs a command inside, to completion. */
  run(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
    return spawnSync("chroot", [this.root, ...argv], {
      encoding: "utf8",
      env: opts.env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8" },
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 << 20,
    });
  }

  /** Starts a command inside in the background; close() kills it. */
  start(argv: string[]): ChildProcess {
    const child = spawn("chroot", [this.root, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" },
      detached: true,
    });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    return child;
  }

  /** Kills what start() began, unmounts everything below the root and the root itself, and deletes the overlay. */
  close(): void {
    for (const child of this.children) {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (spawnSync("umount", ["-R", this.root]).status !== 0) {
      // A straggler may still hold a mount: detach lazily so nothing stays visible, then say so.
      for (const p of leftoverMounts().filter((m) => m.startsWith(this.base))) spawnSync("umount", ["-l", p]);
    }
    const left = leftoverMounts().filter((m) => m.startsWith(this.base));
    if (left.length) throw new Error(`could not unmount ${left.join(", ")}`);
    rmSync(this.base, { recursive: true, force: true });
  }
}
