/* The kernel types sealtrace reads, and only those: a reviewer sees exactly which kernel data
 * the probes touch. Fields are relocated at load time (CO-RE, preserve_access_index), so their
 * order and offsets here need not match the running kernel; only names and types must. */
#ifndef SEALTRACE_VMLINUX_MIN_H
#define SEALTRACE_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned short umode_t;
typedef unsigned int dev_t;
typedef long long loff_t;
typedef unsigned long size_t;
#define __KERNEL_TYPES_DEFINED 1

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };
enum { BPF_RB_NO_WAKEUP = 1, BPF_RB_FORCE_WAKEUP = 2 };
enum { BPF_F_NO_PREALLOC = 1 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct { int counter; } atomic_t;
typedef struct { __s64 counter; } atomic64_t;

struct pt_regs {
	unsigned long di, si, dx, r10, r8, r9, ax, orig_ax;
};

struct kuid_t_s { uid_t val; };
typedef struct kuid_t_s kuid_t;
struct kgid_t_s { gid_t val; };
typedef struct kgid_t_s kgid_t;

/* 6.3+ (f122a08b197d, "capability: just use a 'u64' instead of a 'u32[2]' array"); before it, two
 * u32 in the same 8 bytes, little-endian: read as 8 bytes, both are the same mask. */
typedef struct { __u64 val; } kernel_cap_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t suid;
	kgid_t sgid;
	kuid_t euid;
	kgid_t egid;
	kuid_t fsuid;
	kgid_t fsgid;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
};

struct qstr {
	union {
		struct { __u32 hash; __u32 len; };
		__u64 hash_len;
	};
	const unsigned char *name;
};

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
};

typedef __s64 time64_t;
struct timespec64 {
	time64_t tv_sec;
	long tv_nsec;
};

/* Times as 6.11+ keep them (3aa63a569c64, "fs: switch timespec64 fields in inode to discrete
 * integers"); the older layouts are the inode___* flavours in exec.bpf.c. */
struct inode {
	umode_t i_mode;
	unsigned long i_ino;
	struct super_block *i_sb;
	unsigned int i_nlink; /* in an anonymous union with __i_nlink: CO-RE finds it there */
	loff_t i_size;
	time64_t i_mtime_sec;
	time64_t i_ctime_sec;
	__u32 i_mtime_nsec;
	__u32 i_ctime_nsec;
	void *i_private; /* a pidfs inode's struct pid (privilege bundle) */
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	umode_t f_mode_pad;
	void *private_data; /* struct socket * for socket files */
};

/* A pidfd's private_data (privilege bundle: pidfd_send_signal's target). */
struct upid {
	int nr;
};
struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct fs_struct {
	struct path pwd;
	struct path root;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
};

struct signal_struct {
	atomic_t live;
	int nr_threads;
};

struct kernfs_node {
	__u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

struct task_struct {
	struct css_set *cgroups;
	pid_t pid;
	pid_t tgid;
	unsigned int flags;
	int exit_code;
	__u64 start_time;
	__u64 start_boottime;
	struct task_struct *real_parent;
	struct task_struct *parent;
	struct task_struct *group_leader;
	const struct cred *cred;
	const struct cred *real_cred;
	struct mm_struct *mm;
	struct fs_struct *fs;
	struct files_struct *files;
	struct signal_struct *signal;
	char comm[16];
};

struct linux_binprm {
	struct mm_struct *mm;
	struct file *file;
	const char *filename;
	const char *interp;
	int argc;
	int envc;
};

/* Networking. */
typedef unsigned short sa_family_t;
struct in6_addr { union { __u8 u6_addr8[16]; __be32 u6_addr32[4]; } in6_u; };

struct net;
typedef struct { struct net *net; } possible_net_t;

struct sock_common {
	union { struct { __be32 skc_daddr; __be32 skc_rcv_saddr; }; };
	union { struct { __be16 skc_dport; __u16 skc_num; }; };
	unsigned short skc_family;
	volatile unsigned char skc_state;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
	__u16 sk_type;
	__u16 sk_protocol;
	int sk_err;
	struct socket *sk_socket;
};

struct socket {
	short type;
	struct file *file;
	struct sock *sk;
};

struct sk_buff {
	struct sock *sk;
	char cb[48]; /* struct tcp_skb_cb on the TCP output path */
};

/* TCP's view of skb->cb (TCP_SKB_CB) on the output path. */
struct tcp_skb_cb {
	__u32 seq;
	__u32 end_seq;
	union {
		__u32 tcp_tw_isn;
		struct {
			__u16 tcp_gso_segs; /* tcp_skb_pcount() */
			__u16 tcp_gso_size;
		};
	};
};

/* Contexts of the classic tracepoints used (the per-event structs of include/trace/events/). */
struct trace_entry {
	unsigned short type;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

struct trace_event_raw_sys_exit {
	struct trace_entry ent;
	long id;
	long ret;
};

struct trace_event_raw_tcp_retransmit_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
	int err; /* since 6.17 (ad892e912b84); read only when the running kernel has it */
};

/* The class tcp_retransmit_skb (before 6.17) and tcp_send_reset (before 6.10) shared. No `family`
 * on 5.10 (it came with "net: tracepoint: exposing sk_family in all tcp:tracepoints"); IPv4 ends
 * are stored v4-mapped in the v6 fields then. Read only where bpf_core_type_exists says it is the
 * running kernel's (retransmit.bpf.c): 6.17+ has no such struct. */
struct trace_event_raw_tcp_event_sk_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

struct trace_event_raw_tcp_retransmit_synack {
	struct trace_entry ent;
	const void *skaddr; /* the listener */
	const void *req;    /* the request sock whose SYN-ACK was resent */
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

enum sk_rst_reason { SK_RST_REASON_NOT_SPECIFIED = 0, SK_RST_REASON_NO_SOCKET = 1 };

struct trace_event_raw_tcp_send_reset {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	enum sk_rst_reason reason; /* since v6.10 */
	__u8 saddr[28];      /* struct sockaddr_in or sockaddr_in6 */
	__u8 daddr[28];
};

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct sock_common;
struct tcp_sock;
struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	uid_t uid;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

#pragma clang attribute pop

#endif
