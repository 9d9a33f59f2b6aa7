// What recording needs from this machine, checked for real: privileges, BTF, libbpf, tracefs,
// every bundle's tracepoints, and a trial load of a ring buffer and a BPF iterator.
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { tracefsDir, ensureTracefs } from "../libbpf/tracefs.js";
import type { BundleSpec } from "../bundles/spec.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when not ok: one line. */
  fix?: string;
  /** A failed check that does not stop recording. */
  advisory?: boolean;
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

export function checkKernel(): Check {
  const [maj = 0, min = 0] = release().split(".").map((x) => Number.parseInt(x, 10));
  const ok = maj > 5 || (maj === 5 && min >= 11);
  return { name: "kernel", ok, detail: release(), fix: "sealtrace needs Linux 5.11 or later (ring buffers, task iterators, sleepable iterators)" };
}

export function checkBtf(): Check {
  const ok = existsSync("/sys/kernel/btf/vmlinux");
  return { name: "BTF", ok, detail: ok ? "/sys/kernel/btf/vmlinux" : "missing", fix: "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y" };
}

export async function checkLibbpf(): Promise<Check> {
  try {
    const { libbpf, libbpfOrigin } = await import("../libbpf/native.js");
    const lb = libbpf();
    const [maj, min] = [lb.major(), lb.minor()];
    const ok = maj > 1 || (maj === 1 && min >= 1);
    return { name: "libbpf", ok, detail: `libbpf ${libbpfOrigin()}`, fix: "install libbpf 1.1 or later (Debian: apt-get install libbpf1)" };
  } catch (e) {
    return { name: "libbpf", ok: false, detail: (e as Error).message, fix: "install libbpf1 (Debian: apt-get install libbpf1)" };
  }
}

export function checkTracefs(): Check {
  const dir = ensureTracefs();
  return { name: "tracefs", ok: dir !== undefined, detail: dir ?? "not mounted and could not be mounted", fix: "mount -t tracefs nodev /sys/kernel/tracing" };
}

export function checkBpffs(): Check {
  const mounted = readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[2] === "bpf");
  return { name: "bpffs", ok: mounted, advisory: true, detail: mounted ? "mounted" : "not mounted (not needed: sealtrace pins nothing, its probes die with it)" };
}

export function checkTracepoints(bundle: BundleSpec): Check {
  const dir = tracefsDir();
  const missing = bundle.tracepoints.filter(([c, n]) => !dir || !existsSync(`${dir}/events/${c}/${n}`)).map(([c, n]) => `${c}:${n}`);
  return {
    name: `tracepoints: ${bundle.name}`,
    ok: missing.length === 0,
    detail: missing.length ? `missing ${missing.join(", ")}` : `${bundle.tracepoints.length} present`,
    fix: `this kernel lacks tracepoints the ${bundle.name} bundle needs (${missing.join(", ")}); leave the bundle out of the runbook`,
  };
}

/** Loads an object with a ring buffer and runs its task iterator: the real thing, not a guess. */
export async function checkRingAndIterator(objectPath: string, iterator: string): Promise<Check> {
  try {
    const { BpfObject } = await import("../libbpf/object.js");
    const obj = BpfObject.open(objectPath);
    try {
      obj.setRodata({ cfg_self_tgid: process.pid });
      obj.load();
      const out = obj.runIterator(iterator);
      return { name: "ring buffer + iterator", ok: out.length > 0, detail: `loaded, task iterator read ${out.length} bytes` };
    } finally {
      obj.close();
    }
  } catch (e) {
    return { name: "ring buffer + iterator", ok: false, detail: (e as Error).message.split("\n")[0]!, fix: "this kernel cannot load sealtrace's programs; see the detail above" };
  }
}
