/* For programs on the raw sys_exit tracepoint (tp_btf/sys_exit): the arguments are read from the
 * saved user registers, and the syscall number from orig_ax. x86-64 numbers only. */
#ifndef SEALTRACE_SYSCALL_BPF_H
#define SEALTRACE_SYSCALL_BPF_H

#include "common.bpf.h"

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

#endif
