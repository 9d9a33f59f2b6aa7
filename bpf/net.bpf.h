/* Shared by the connect and retransmit bundles: the socket→owner map, socket addresses, remote filters. */
#ifndef SEALTRACE_NET_BPF_H
#define SEALTRACE_NET_BPF_H

#include "common.bpf.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* include/net/tcp_states.h */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define TCP_NEW_SYN_RECV 12

/* Remote filters (runbook `ports`, `addresses`), written by src/bundles/netfilters.ts. An event
 * passes when its remote port is listed (or none are) and its remote address is listed (or none are). */
enum st_net_max {
	ST_NET_MAX_PORTS = 16,
	ST_NET_MAX_ADDRS = 8,
};
/* Brings st_net_max into BTF for the check against src/bundles/netfilters.ts (see st_enums). */
enum st_net_max *unused_net_max __attribute__((unused));
const volatile __u8 cfg_port_count = 0;
const volatile __u16 cfg_ports[ST_NET_MAX_PORTS] = {};
const volatile __u8 cfg_addr_count = 0;
const volatile __u16 cfg_addr_families[ST_NET_MAX_ADDRS] = {};
const volatile __u8 cfg_addrs[ST_NET_MAX_ADDRS][ST_ADDR_LEN] = {};

/* Who owns each TCP socket, keyed by the struct sock address. Filled in process context (connect,
 * listen, accept) and by the start snapshot, read where events fire in softirq. Listening sockets
 * also get a second entry under listener_key(), which accepted children inherit until accept(2)
 * names the real owner. Entries go at tcp_destroy_sock. The recorder shares one map between the
 * bundles (reuseMap), so both definitions must stay identical. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct st_owner);
} sock_owners SEC(".maps");

/* A key no real socket can have: struct sock is 8-byte aligned, so bit 0 of its address is 0.
 * It names (netns, local port), which is what an incoming SYN matches a listener on. */
static __always_inline __u64 listener_key(const struct sock *sk)
{
	__u64 net = (__u64)BPF_CORE_READ(sk, __sk_common.skc_net.net);
	__u64 port = BPF_CORE_READ(sk, __sk_common.skc_num);
	return (net & 0xffffffffffffULL) | (port << 48) | 1;
}

static __always_inline bool filters_active(void)
{
	return cfg_follow || cfg_cgroup_id || cfg_uid_set || cfg_comm_len;
}

static __always_inline void owner_from_task_nocg(struct st_owner *o, struct task_struct *t)
{
	o->tgid = BPF_CORE_READ(t, tgid);
	o->pid = BPF_CORE_READ(t, pid);
	o->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	o->ppid = BPF_CORE_READ(t, real_parent, tgid);
	o->uid = BPF_CORE_READ(t, real_cred, uid.val);
	BPF_CORE_READ_STR_INTO(&o->comm, t, comm);
}

/* Another task's cgroup v2 id: task->cgroups->dfl_cgrp->kn->id, what bpf_get_current_cgroup_id reads. */
static __always_inline void owner_from_task(struct st_owner *o, struct task_struct *t)
{
	owner_from_task_nocg(o, t);
	o->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* The current task as an owner. Direct loads through the BTF task pointer, not probe reads: this
 * runs at every connect, accept and listen, and a helper call per field is what costs (issue 7:
 * the connect storm may slow by at most 5%). */
static __always_inline void owner_from_current(struct st_owner *o, const bool compat)
{
	if (compat) { /* no bpf_get_current_task_btf (common.bpf.h, program variants) */
		owner_from_task_nocg(o, (struct task_struct *)bpf_get_current_task());
		o->cgroup_id = bpf_get_current_cgroup_id();
		o->syn_ns = 0;
		return;
	}
	struct task_struct *t = bpf_get_current_task_btf();
	o->tgid = t->tgid;
	o->pid = t->pid;
	o->start_ns = t->group_leader->start_boottime;
	o->ppid = t->real_parent->tgid;
	o->uid = t->real_cred->uid.val;
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	o->syn_ns = 0;
}

/* fill_hdr() for the current task, from owner_from_current(): the same fields, fewer reads. */
static __always_inline void fill_hdr_current(struct st_hdr *h, __u16 type, const struct st_owner *o)
{
	fill_hdr_owner(h, type, o);
	h->flags = 0;
}

static __always_inline void owner_store(__u64 key, const struct st_owner *o)
{
	if (bpf_map_update_elem(&sock_owners, &key, o, BPF_ANY))
		count_loss(ST_LOSS_MAP_FULL);
}

/* listener_key() for a BTF socket pointer (tp_btf arguments): direct loads. */
static __always_inline __u64 listener_key_btf(const struct sock *sk)
{
	__u64 net = 0; /* read as a number: the verifier forbids arithmetic on a loaded BTF pointer */
	bpf_core_read(&net, sizeof(net), &sk->__sk_common.skc_net.net);
	__u64 port = sk->__sk_common.skc_num;
	return (net & 0xffffffffffffULL) | (port << 48) | 1;
}

/* Keeps sock_owners current across a TCP state change. Only SYN_SENT (connect, sendmsg with
 * fastopen) and LISTEN (listen) happen in the owner's own process context: every other change
 * may run in softirq on behalf of any task, so `current` is never trusted there. `sk` is a BTF
 * pointer (tp_btf/inet_sock_set_state). */
static __always_inline void owner_on_state(const struct sock *sk, int oldstate, int newstate, const bool compat)
{
	__u64 key = (__u64)sk;
	if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) {
		struct st_owner o = {};
		owner_from_current(&o, compat);
		if (newstate == TCP_SYN_SENT)
			o.syn_ns = bpf_ktime_get_boot_ns(); /* the attempt's start, for the connect record */
		owner_store(key, &o);
		if (newstate == TCP_LISTEN)
			owner_store(listener_key_btf(sk), &o);
	} else if (newstate == TCP_SYN_RECV && oldstate == TCP_LISTEN) {
		/* A child cloned from its listener (inet_csk_clone_lock): inherit the listener's owner.
		 * The address may be a freed socket's: never keep a stale owner. */
		__u64 lkey = listener_key_btf(sk);
		struct st_owner *l = bpf_map_lookup_elem(&sock_owners, &lkey);
		if (l)
			owner_store(key, l);
		else
			bpf_map_delete_elem(&sock_owners, &key);
	} else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		__u64 lkey = listener_key_btf(sk);
		bpf_map_delete_elem(&sock_owners, &lkey);
	}
}

/* tcp_destroy_sock: the socket is gone, and its address may be reused by the next one. */
static __always_inline void owner_on_destroy(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	bpf_map_delete_elem(&sock_owners, &key);
}

/* The socket's addresses: local in saddr/sport, peer in daddr/dport (ports in host order). */
static __always_inline __u16 sk_addrs(const struct sock *sk, __u8 *saddr, __u8 *daddr, __u16 *sport, __u16 *dport)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)daddr, sk, __sk_common.skc_daddr);
	}
	*sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	*dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return family;
}

/* sk_addrs() for a BTF socket pointer (tp_btf arguments): direct loads instead of probe reads. */
static __always_inline __u16 sk_addrs_btf(const struct sock *sk, __u8 *saddr, __u8 *daddr, __u16 *sport, __u16 *dport)
{
	const struct sock_common *c = &sk->__sk_common;
	__u16 family = c->skc_family;
	if (family == AF_INET6) {
		__builtin_memcpy(saddr, c->skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(daddr, c->skc_v6_daddr.in6_u.u6_addr8, 16);
	} else {
		__u32 s4 = c->skc_rcv_saddr, d4 = c->skc_daddr;
		__builtin_memcpy(saddr, &s4, 4);
		__builtin_memcpy(daddr, &d4, 4);
	}
	*sport = c->skc_num;
	*dport = bpf_ntohs(c->skc_dport);
	return family;
}

/* IPv4 filters also match IPv4-mapped IPv6 peers (::ffff:a.b.c.d on a dual-stack socket). */
static __always_inline bool addr_matches(__u16 family, const __u8 *addr, __u16 want_family, const volatile __u8 *want)
{
	if (want_family == AF_INET) {
		__u32 a, w = *(const volatile __u32 *)want;
		if (family == AF_INET) {
			__builtin_memcpy(&a, addr, 4);
			return a == w;
		}
		__u32 w0, w1, w2;
		__builtin_memcpy(&w0, addr, 4);
		__builtin_memcpy(&w1, addr + 4, 4);
		__builtin_memcpy(&w2, addr + 8, 4);
		__builtin_memcpy(&a, addr + 12, 4);
		return family == AF_INET6 && w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff) && a == w;
	}
	if (family != AF_INET6)
		return false;
	__u64 a0, a1;
	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
	return a0 == *(const volatile __u64 *)want && a1 == *(const volatile __u64 *)(want + 8);
}

/* Does the remote end (daddr, dport) pass the runbook's port and address filters? */
static __always_inline bool remote_wanted(__u16 family, const __u8 *daddr, __u16 dport)
{
	if (cfg_port_count) {
		bool hit = false;
#pragma unroll
		for (int i = 0; i < ST_NET_MAX_PORTS; i++) {
			if (i < cfg_port_count && cfg_ports[i] == dport)
				hit = true;
		}
		if (!hit)
			return false;
	}
	if (cfg_addr_count) {
		bool hit = false;
#pragma unroll
		for (int i = 0; i < ST_NET_MAX_ADDRS; i++) {
			if (i < cfg_addr_count && addr_matches(family, daddr, cfg_addr_families[i], cfg_addrs[i]))
				hit = true;
		}
		if (!hit)
			return false;
	}
	return true;
}

/* Applies the process filters to the owner of `sk` (looked up once, before any ring space is
 * reserved: most events of a filtered recording stop here). False: drop the event. `*o` is the
 * owner, or NULL when unknown: such events are kept (ST_HF_OWNER_UNKNOWN, zero identity) only when
 * no process filter is set, since they cannot be shown to belong to a wanted process. */
static __always_inline bool sock_wanted(const struct sock *sk, struct st_owner **o)
{
	__u64 key = (__u64)sk;
	*o = sk ? bpf_map_lookup_elem(&sock_owners, &key) : NULL;
	if (*o)
		return task_wanted((*o)->tgid, (*o)->uid, (*o)->cgroup_id, (*o)->comm);
	return !filters_active();
}

/* The header for an event on a socket, from its owner as sock_wanted() returned it. */
static __always_inline void fill_hdr_sock(struct st_hdr *h, __u16 type, const struct st_owner *o)
{
	if (o) {
		fill_hdr_owner(h, type, o);
		return;
	}
	__builtin_memset(h, 0, sizeof(*h));
	h->type = type;
	h->flags = ST_HF_OWNER_UNKNOWN;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_boot_ns();
}

static __always_inline bool remote_filter_set(void)
{
	return cfg_port_count || cfg_addr_count;
}

/* Start snapshot, step 1 (iter/task_file): every task's TCP sockets enter sock_owners, first owner
 * wins (a socket inherited over fork belongs to the first task met, usually the parent). Listening
 * sockets also get their listener_key(). Writes nothing to the seq file. */
static __always_inline int owners_from_file(struct bpf_iter__task_file *ctx)
{
	struct file *f = ctx->file;
	struct task_struct *t = ctx->task;
	if (!f || !t)
		return 0;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *so = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct st_owner o = {};
	owner_from_task(&o, t);
	__u64 key = (__u64)sk;
	if (bpf_map_update_elem(&sock_owners, &key, &o, BPF_NOEXIST) == -7 /* E2BIG: full */)
		count_loss(ST_LOSS_MAP_FULL);
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN) {
		key = listener_key(sk);
		bpf_map_update_elem(&sock_owners, &key, &o, BPF_NOEXIST);
	}
	return 0;
}

#endif
