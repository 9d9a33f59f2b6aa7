/* Syscall hooks, shared by every bundle that records syscalls (connect, filewrite, privilege). x86-64 numbers only.
 *
 * The mechanism (issue 20; docs/BENCHMARKS.md, "What every syscall pays"): each hooked syscall's classic
 * exit tracepoint, `syscalls/sys_exit_NAME`, runs the bundle's one syscall program (attached to each
 * of them: BundleSpec.alsoAttach; verified once), which tells them apart by the record's __syscall_nr.
 * A syscall nobody hooks then pays only the kernel's own test of its bit in the syscall tracepoints'
 * bitmap (perf_syscall_exit); no BPF program runs for it. A program on the raw sys_exit tracepoint
 * runs for every syscall of the machine instead, with the BPF dispatch and, while kernel.bpf_stats_enabled
 * is on (the recorder samples it: one second in ten), two clock reads around each run: measured at 2-3x the per-syscall
 * tracepoints' tax on an unrelated syscall. The exit tracepoint gives only the result; the arguments
 * are read back from the task's saved user registers (bpf_task_pt_regs, 5.15), which the syscall has
 * not changed (x86-64 ABI: di, si, dx, r10, r8; only ax holds the result), so no enter program and no
 * stash map. Kernels without bpf_get_current_task_btf or bpf_task_pt_regs (5.10) run the "_compat"
 * programs on the raw sys_exit tracepoint instead, as before: one program there, reaching the other
 * bundles' syscalls by tail call (sys_exit_tails below). */
#ifndef SEALTRACE_SYSCALL_BPF_H
#define SEALTRACE_SYSCALL_BPF_H

#include "common.bpf.h"

#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_ACCEPT4 288

/* The classic syscall exit tracepoint's record (tracefs events/syscalls/sys_exit_NAME/format: the common
 * fields, then __syscall_nr at 8 and ret at 16, the same on every kernel since syscall tracepoints exist). */
struct syscall_exit_ctx {
	__u64 common;
	__s32 nr;
	__s32 pad;
	long ret;
};

/* The classic syscall enter tracepoint's record (events/syscalls/sys_enter_NAME/format): the arguments
 * from offset 16. Only the privilege bundle's few cred-changing syscalls run an enter program. */
struct syscall_enter_ctx {
	__u64 common;
	__s32 nr;
	__s32 pad;
	unsigned long args[6];
};

/* The privilege bundle's syscalls (privilege.bpf.c), x86-64 numbers: filewrite's compat raw program
 * hands them over by tail call. */
#define NR_KILL 62
#define NR_PTRACE 101
#define NR_SETUID 105
#define NR_SETGID 106
#define NR_SETREUID 113
#define NR_SETREGID 114
#define NR_SETRESUID 117
#define NR_SETRESGID 119
#define NR_SETFSUID 122
#define NR_SETFSGID 123
#define NR_CAPSET 126
#define NR_PIVOT_ROOT 155
#define NR_PRCTL 157
#define NR_MOUNT 165
#define NR_UMOUNT2 166
#define NR_INIT_MODULE 175
#define NR_DELETE_MODULE 176
#define NR_TGKILL 234
#define NR_UNSHARE 272
#define NR_SETNS 308
#define NR_FINIT_MODULE 313
#define NR_MEMFD_CREATE 319
#define NR_BPF 321
#define NR_PIDFD_SEND_SIGNAL 424

#define PRIVILEGE_CASES                                                                                   \
	case NR_KILL: case NR_PTRACE: case NR_SETUID: case NR_SETGID: case NR_SETREUID: case NR_SETREGID: \
	case NR_SETRESUID: case NR_SETRESGID: case NR_SETFSUID: case NR_SETFSGID: case NR_CAPSET:         \
	case NR_PIVOT_ROOT: case NR_PRCTL: case NR_MOUNT: case NR_UMOUNT2: case NR_INIT_MODULE:           \
	case NR_DELETE_MODULE: case NR_TGKILL: case NR_UNSHARE: case NR_SETNS: case NR_FINIT_MODULE:      \
	case NR_MEMFD_CREATE: case NR_BPF: case NR_PIDFD_SEND_SIGNAL

/* The saved user registers of the current task (bpf_task_pt_regs, 5.15): a syscall's arguments at its exit. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

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

/* Compat kernels only (see above): one raw sys_exit program for every bundle that needs syscalls.
 * filewrite's, when loaded, is the only one attached, and hands the syscalls of other bundles to their
 * programs in this array by tail call (connect, accept and accept4 to the connect bundle's). A second
 * program on sys_exit would run on every syscall of the machine. The recorder creates the array and
 * shares it between the objects (src/recorder/loader.ts). The privilege bundle's compat program takes
 * slot 1 (privilege.bpf.c; on newer kernels its own program on its syscalls' exit tracepoints). */
#define TAIL_CONNECT 0
#define TAIL_PRIVILEGE 1
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} sys_exit_tails SEC(".maps");

/* The current task's struct file at `fd`, with probe reads (no bpf_rdonly_cast, no BTF task pointer): the
 * same code on every kernel, for compat programs and rare paths (filewrite's compat, privilege's fd args). */
static __always_inline struct file *current_fd_file_probe(long fd)
{
	struct fdtable *fdt = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), files, fdt);
	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
