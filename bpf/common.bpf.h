/* Kernel-side contract shared by every bundle: filters, the common header, loss counters. */
#ifndef SEALTRACE_COMMON_BPF_H
#define SEALTRACE_COMMON_BPF_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* Brings the contract's enums into this object's BTF for the check against src/events/layouts.ts. */
struct st_enums *unused_enums __attribute__((unused));

/* Filters, written into .rodata by the loader before load (src/recorder/filters.ts). */
const volatile __u32 cfg_self_tgid = 0;      /* the recorder: never traced */
const volatile __u8 cfg_follow = 0;          /* trace only tgids in `followed` */
const volatile __u64 cfg_cgroup_id = 0;      /* 0: any cgroup */
const volatile __u8 cfg_uid_set = 0;
const volatile __u32 cfg_uid = 0;
const volatile __u8 cfg_comm_len = 0;        /* 0: any comm; else prefix match of this length */
const volatile char cfg_comm[ST_COMM_LEN] = {};

/* Processes being followed: the target and every descendant forked after it (extended on fork
 * by the exec bundle). Shared between bundles: the loader reuses one map fd for all objects. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_LOSS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");

static __always_inline void count_loss(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&losses, &kind);
	if (n)
		*n += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline bool comm_matches(const char *comm)
{
	if (cfg_comm_len == 0)
		return true;
#pragma unroll
	for (int i = 0; i < ST_COMM_LEN; i++) {
		if (i >= cfg_comm_len)
			break;
		if (comm[i] != cfg_comm[i])
			return false;
	}
	return true;
}

/* Should an event of this process be recorded? `comm` may be NULL to skip the comm check. */
static __always_inline bool task_wanted(__u32 tgid, __u32 uid, __u64 cgroup_id, const char *comm)
{
	if (tgid == cfg_self_tgid)
		return false;
	if (cfg_follow && !bpf_map_lookup_elem(&followed, &tgid))
		return false;
	if (cfg_cgroup_id && cgroup_id != cfg_cgroup_id)
		return false;
	if (cfg_uid_set && uid != cfg_uid)
		return false;
	if (comm && !comm_matches(comm))
		return false;
	return true;
}

/* Is the current task wanted? Cheap checks first: most filtered-out calls stop at the tgid. */
static __always_inline bool current_wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == cfg_self_tgid)
		return false;
	if (cfg_follow && !bpf_map_lookup_elem(&followed, &tgid))
		return false;
	if (cfg_cgroup_id && bpf_get_current_cgroup_id() != cfg_cgroup_id)
		return false;
	if (cfg_uid_set && (__u32)bpf_get_current_uid_gid() != cfg_uid)
		return false;
	if (cfg_comm_len) {
		char comm[ST_COMM_LEN];
		bpf_get_current_comm(comm, sizeof(comm));
		if (!comm_matches(comm))
			return false;
	}
	return true;
}

/* Fill the common header for a given task (which may not be current: fork's child, a socket owner). */
static __always_inline void fill_hdr_task(struct st_hdr *h, __u16 type, struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	h->type = type;
	h->flags = 0;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->tgid = BPF_CORE_READ(t, tgid);
	h->pid = BPF_CORE_READ(t, pid);
	h->start_ns = BPF_CORE_READ(leader, start_boottime);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = BPF_CORE_READ(t, real_cred, uid.val);
	h->cgroup_id = 0;
	BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
}

/* Fill the common header for the current task. */
static __always_inline void fill_hdr(struct st_hdr *h, __u16 type)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	fill_hdr_task(h, type, t);
	h->cgroup_id = bpf_get_current_cgroup_id();
}

static __always_inline void fill_hdr_owner(struct st_hdr *h, __u16 type, const struct st_owner *o)
{
	h->type = type;
	h->flags = ST_HF_OWNER_FROM_SOCK;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->tgid = o->tgid;
	h->pid = o->pid;
	h->start_ns = o->start_ns;
	h->ppid = o->ppid;
	h->uid = o->uid;
	h->cgroup_id = o->cgroup_id;
	__builtin_memcpy(h->comm, o->comm, ST_COMM_LEN);
}

/* Program variants. A program that needs a kernel feature newer than 5.10 has a "_compat" twin
 * built from the same inline code with `compat` true; the twin's section starts with "?" (off by
 * default) and the loader turns on one of the two after probing the running kernel's BTF
 * (src/libbpf/features.ts; BundleSpec.variants): the hot path of a new kernel pays nothing
 * for an old one. The features behind the twins:
 * - bpf_get_current_task_btf(), 5.11 (commit 3ca1032ab7ab, "bpf: Implement get_current_task_btf and
 *   RET_PTR_TO_BTF_ID"): the compat twin reads `current` with probe reads (bpf_get_current_task).
 * - bpf_rdonly_cast(), 6.2 (commit a35b9af4ec2c, "bpf: Add a kfunc for generic type cast"): the
 *   compat twin reads the fd table with probe reads. */
static __always_inline struct task_struct *current_task(const bool compat)
{
	if (compat)
		return (struct task_struct *)bpf_get_current_task();
	return bpf_get_current_task_btf();
}

/* Records are submitted without a wake-up: the recorder polls the ring on a short tick, and a
 * wake-up per event costs the traced workload dearly (docs/EVENTS.md, "Common to every bundle": wake-ups). */
#define RB_FLAGS BPF_RB_NO_WAKEUP

#endif
