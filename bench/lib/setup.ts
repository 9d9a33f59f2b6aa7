// Bench setup: the Debian packages it needs (installed with apt when missing), the C workloads built with gcc, a key.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { sh } from "./proc.js";

/** Debian package → a file it installs, to tell whether it is there. */
export const APT_PACKAGES: Record<string, string> = {
  bpftrace: "/usr/bin/bpftrace",
  "libbpf-tools": "/usr/sbin/execsnoop",
  auditd: "/usr/sbin/auditd",
  nftables: "/usr/sbin/nft",
  iproute2: "/usr/sbin/ip",
  gcc: "/usr/bin/gcc",
  bpftool: "/usr/sbin/bpftool",
  coreutils: "/usr/bin/stdbuf",
};

export function installPackages(log: (s: string) => void): string[] {
  const missing = Object.entries(APT_PACKAGES)
    .filter(([, f]) => !existsSync(f))
    .map(([p]) => p);
  if (missing.length) {
    log(`apt-get install ${missing.join(" ")}`);
    sh("apt-get", ["update", "-qq"]);
    execFileSync("apt-get", ["install", "-y", "-qq", ...missing], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  return missing;
}

export const WORKLOAD_BINARIES = ["execstorm", "connstorm", "writestorm", "retransstorm", "marker", "rusage"];

/** Builds bench/workloads/*.c into buildDir; copies /bin/true as the marker binary (its own comm). */
export function buildWorkloads(root: string, buildDir: string, markerComm: string): void {
  mkdirSync(buildDir, { recursive: true });
  for (const b of WORKLOAD_BINARIES)
    sh("gcc", ["-O2", "-Wall", "-o", join(buildDir, b), join(root, "bench", "workloads", `${b}.c`)]);
  copyFileSync("/bin/true", join(buildDir, markerComm));
  execFileSync("chmod", ["755", join(buildDir, markerComm)]);
}

/** A throwaway age identity for the bench's sessions (its public key is in the file's comment). */
export function makeKey(root: string, buildDir: string): { identity: string; recipient: string } {
  const identity = join(buildDir, "bench.key");
  if (!existsSync(identity))
    sh(process.execPath, [join(root, "dist", "src", "cli", "main.js"), "keygen", "-o", identity]);
  const recipient = /public key: (age1[0-9a-z]{58})/.exec(readFileSync(identity, "utf8"))?.[1];
  if (!recipient) throw new Error(`no public key in ${identity}`);
  return { identity, recipient };
}

/** IDs of the BPF programs loaded right now. */
export function bpfProgramIds(): Set<number> {
  const progs = JSON.parse(sh("bpftool", ["prog", "show", "--json"])) as Array<{ id: number }>;
  return new Set(progs.map((p) => p.id));
}

/** Loaded BPF programs with the processes holding them (pid:comm), from bpftool. */
export function bpfPrograms(): Array<{ id: number; name: string; holders: string[] }> {
  const progs = JSON.parse(sh("bpftool", ["prog", "show", "--json"])) as Array<{
    id: number;
    name?: string;
    pids?: Array<{ pid: number; comm: string }>;
  }>;
  return progs.map((p) => ({ id: p.id, name: p.name ?? "", holders: (p.pids ?? []).map((h) => `${h.pid}:${h.comm}`) }));
}
