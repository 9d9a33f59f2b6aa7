/* For programs on the raw sys_exit tracepoint (tp_btf/sys_exit): the arguments are read from the
 * saved user registers, and the syscall number from orig_ax. x86-64 numbers only. */
#ifndef SEALTRACE_SYSCALL_BPF_H
#define SEALTRACE_SYSCALL_BPF_H

#include "common.bpf.h"

#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_ACCEPT4 288

#define TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h: an ia32 syscall, other numbers */

/* x86 only, so kept here rather than in vmlinux_min.h; CO-RE ignores the ___sc suffix. */
struct thread_info___sc {
	__u32 status;
} __attribute__((preserve_access_index));
struct task_struct___sc {
	struct thread_info___sc thread_info;
} __attribute__((preserve_access_index));

/* An ia32 syscall of a 64-bit kernel: its numbers mean other calls, so it is not ours to decode
 * (the classic syscall tracepoints skip these too). */
static __always_inline bool is_compat(struct task_struct *t)
{
	return ((struct task_struct___sc *)t)->thread_info.status & TS_COMPAT;
}

/* is_compat() of the current task; `compat`: a program variant without bpf_get_current_task_btf. */
static __always_inline bool current_is_ia32(const bool compat)
{
	if (compat)
		return BPF_CORE_READ((struct task_struct___sc *)bpf_get_current_task(), thread_info.status) & TS_COMPAT;
	return is_compat(bpf_get_current_task_btf());
}

/* One raw sys_exit program for every bundle that needs syscalls: filewrite's program, when loaded, is
 * the only one attached, and hands the syscalls of other bundles to their programs in this array by
 * tail call (connect, accept and accept4 to the connect bundle's). A second program on sys_exit
 * would run on every syscall of the machine: on a 64-byte write storm with all bundles that cost
 * ~7%. The recorder creates the array and shares it between the objects (src/recorder/loader.ts). */
#define TAIL_CONNECT 0
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sys_exit_tails SEC(".maps");

#endif
