// What recording needs from this machine before any bundle loads: privileges, BTF, libbpf, tracefs.
// Whether each bundle then loads is a real trial load (trial.ts), not a guess from the version.
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { ensureTracefs } from "../libbpf/tracefs.js";
import type { ErrorKind } from "../errors.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when not ok: one line. */
  fix?: string;
  /** A failed check that does not stop recording. */
  advisory?: boolean;
  /** ok, but some facts are not available on this kernel (named in detail). */
  degraded?: boolean;
  /** The one line (after "sealtrace: ") a failure prints; default `NAME: FIX`. */
  line?: string;
}

/** The line doctor prints for a failed check, and record fails with. */
export function problemLine(c: Check): string {
  return c.line ?? `${c.name}: ${c.fix ?? c.detail}`;
}

/** What a failed check stops: missing privileges, or something this machine lacks. */
export function problemKind(c: Check): ErrorKind {
  return c.name === "privileges" ? "not-permitted" : "unsupported";
}

/** Every check that does not load a bundle, in doctor's order. record runs the same ones first. */
export async function environmentChecks(): Promise<Check[]> {
  return [checkPrivileges(), checkKernel(), checkBtf(), await checkLibbpf(), checkTracefs(), checkBpffs()];
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(): bigint {
  const m = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function checkPrivileges(): Check {
  const caps = effectiveCaps();
  const has = (c: bigint) => (caps & (1n << c)) !== 0n;
  const uid = process.getuid?.() ?? -1;
  const ok = has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
  return {
    name: "privileges",
    ok,
    detail: `uid ${uid}, ${has(CAP_BPF) ? "CAP_BPF" : "no CAP_BPF"}, ${has(CAP_PERFMON) ? "CAP_PERFMON" : "no CAP_PERFMON"}, ${has(CAP_SYS_ADMIN) ? "CAP_SYS_ADMIN" : "no CAP_SYS_ADMIN"}`,
    fix: "run as root (sudo sealtrace ...) or grant CAP_BPF and CAP_PERFMON",
  };
}

/** The release, for the record: what a kernel can do is decided by the trial loads, not by its number. */
export function checkKernel(): Check {
  return { name: "kernel", ok: true, detail: release() };
}

export function checkBtf(): Check {
  const ok = existsSync("/sys/kernel/btf/vmlinux");
  return {
    name: "BTF",
    ok,
    detail: ok ? "/sys/kernel/btf/vmlinux" : "missing",
    fix: "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y",
  };
}

export async function checkLibbpf(): Promise<Check> {
  try {
    const { libbpf, libbpfOrigin } = await import("../libbpf/native.js");
    const lb = libbpf();
    const [maj, min] = [lb.major(), lb.minor()];
    const ok = maj > 1 || (maj === 1 && min >= 1);
    return {
      name: "libbpf",
      ok,
      detail: `libbpf ${libbpfOrigin()}`,
      fix: "install libbpf 1.1 or later (Debian: apt-get install libbpf1)",
    };
  } catch (e) {
    return {
      name: "libbpf",
      ok: false,
      detail: (e as Error).message,
      fix: "install libbpf1 (Debian: apt-get install libbpf1)",
    };
  }
}

export function checkTracefs(): Check {
  const dir = ensureTracefs();
  return {
    name: "tracefs",
    ok: dir !== undefined,
    detail: dir ?? "not mounted and could not be mounted",
    fix: "mount -t tracefs nodev /sys/kernel/tracing",
  };
}

export function checkBpffs(): Check {
  const mounted = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[2] === "bpf");
  return {
    name: "bpffs",
    ok: mounted,
    advisory: true,
    detail: mounted ? "mounted" : "not mounted (not needed: sealtrace pins nothing, its probes die with it)",
  };
}
