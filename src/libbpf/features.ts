// Kernel features the bundles' program variants depend on, probed in the running kernel's BTF.
import { libbpf, viewOf, type Ptr } from "./native.js";
import { closeBtf, openBtf, structLayout } from "./btf.js";

/**
 * What a program variant may need (bpf/common.bpf.h, program variants). Each is probed by name in
 * /sys/kernel/btf/vmlinux, never inferred from the kernel version:
 * - taskBtf: the helper bpf_get_current_task_btf (5.11);
 * - taskPtRegs: the helper bpf_task_pt_regs (5.15), a task's saved user registers: the syscall programs'
 *   arguments at exit (bpf/syscall.bpf.h);
 * - rdonlyCast: the kfunc bpf_rdonly_cast (6.2);
 * - copyFromUserTask: the helper bpf_copy_from_user_task and sleepable iterators (5.18);
 * - dropReason: skb:kfree_skb's reason argument, enum skb_drop_reason (5.17);
 * - resetReason: tcp_send_reset's own event class with `reason` (6.10).
 */
export type KernelFeature = "taskBtf" | "taskPtRegs" | "rdonlyCast" | "copyFromUserTask" | "dropReason" | "resetReason";

export const ALL_FEATURES: readonly KernelFeature[] = [
  "taskBtf",
  "taskPtRegs",
  "rdonlyCast",
  "copyFromUserTask",
  "dropReason",
  "resetReason",
];

const BTF_KIND = { enum: 6, func: 12 } as const;
const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

/** True when `enumName` has an enumerator `value` (e.g. bpf_func_id's BPF_FUNC_loop: the kernel knows that helper). */
function enumHasValue(btf: Ptr, enumName: string, value: string): boolean {
  const lb = libbpf();
  const id = lb.btfFindByNameKind(btf, enumName, BTF_KIND.enum);
  if (id < 0) return false;
  const t = lb.btfTypeById(btf, id)!;
  const vlen = new DataView(viewOf(t, 12)).getUint32(4, true) & 0xffff;
  const v = new DataView(viewOf(t, 12 + vlen * 8));
  for (let i = 0; i < vlen; i++) if (lb.btfNameByOffset(btf, v.getUint32(12 + i * 8, true)) === value) return true;
  return false;
}

function hasMember(btf: Ptr, struct: string, member: string): boolean {
  try {
    return structLayout(btf, struct).fields.some((f) => f.name === member);
  } catch {
    return false; // no such struct in this kernel
  }
}

/** The features of the kernel whose BTF is at `path`. Throws when the file has no BTF (doctor reports that first). */
export function probeFeatures(path = VMLINUX_BTF): ReadonlySet<KernelFeature> {
  const btf = openBtf(path);
  try {
    const out = new Set<KernelFeature>();
    if (enumHasValue(btf, "bpf_func_id", "BPF_FUNC_get_current_task_btf")) out.add("taskBtf");
    if (enumHasValue(btf, "bpf_func_id", "BPF_FUNC_task_pt_regs")) out.add("taskPtRegs");
    if (libbpf().btfFindByNameKind(btf, "bpf_rdonly_cast", BTF_KIND.func) >= 0) out.add("rdonlyCast");
    if (enumHasValue(btf, "bpf_func_id", "BPF_FUNC_copy_from_user_task")) out.add("copyFromUserTask");
    if (libbpf().btfFindByNameKind(btf, "skb_drop_reason", BTF_KIND.enum) >= 0) out.add("dropReason");
    if (hasMember(btf, "trace_event_raw_tcp_send_reset", "reason")) out.add("resetReason");
    return out;
  } finally {
    closeBtf(btf);
  }
}

let cached: ReadonlySet<KernelFeature> | undefined;

/** probeFeatures() of the running kernel, probed once per process. */
export function kernelFeatures(): ReadonlySet<KernelFeature> {
  cached ??= probeFeatures();
  return cached;
}
