/* retransmit bundle: TCP retransmits and resets attributed to the socket's owner (which BCC's
 * tcpretrans cannot do: they fire in softirq), with per-flow counters aggregated in a map. */
#include "net.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* Per-flow totals, dumped with every map snapshot: the counts hold even when the ring overflows. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_flow_key);
	__type(value, struct st_flow_val);
} flow_counters SEC(".maps");

struct st_tcp_event *unused_tcp_event __attribute__((unused));
struct st_owner *unused_owner __attribute__((unused));

#define FLOW_RETRANSMIT 0
#define FLOW_SEND_RESET 1
#define FLOW_RECV_RESET 2

static __always_inline void flow_count(const struct st_tcp_event *e, int what, __u64 n)
{
	struct st_flow_key k = {};
	__builtin_memcpy(k.saddr, e->saddr, ST_ADDR_LEN);
	__builtin_memcpy(k.daddr, e->daddr, ST_ADDR_LEN);
	k.sport = e->sport;
	k.dport = e->dport;
	k.family = e->family;
	struct st_flow_val *v = bpf_map_lookup_elem(&flow_counters, &k);
	if (!v) {
		struct st_flow_val init = {};
		init.tgid = e->hdr.tgid;
		init.start_ns = e->hdr.start_ns;
		if (bpf_map_update_elem(&flow_counters, &k, &init, BPF_NOEXIST) == -7 /* E2BIG */) {
			count_loss(ST_LOSS_MAP_FULL);
			return;
		}
		v = bpf_map_lookup_elem(&flow_counters, &k);
		if (!v)
			return;
	}
	if (what == FLOW_RETRANSMIT)
		__sync_fetch_and_add(&v->retransmits, n);
	else if (what == FLOW_SEND_RESET)
		__sync_fetch_and_add(&v->send_resets, n);
	else
		__sync_fetch_and_add(&v->recv_resets, n);
}

static __always_inline void tcp_event_init(struct st_tcp_event *e, __u64 sk, int state)
{
	e->sock_id = sk;
	e->state = state;
	e->segs = 0;
	e->reason = 0;
	e->err = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
}

/* Submits the event if its remote end and the owner of `sk` pass the filters, and counts its flow. */
static __always_inline void tcp_event_emit(struct st_tcp_event *e, const struct sock *sk, int what, __u64 n)
{
	struct st_owner *o;
	if (!remote_wanted(e->family, e->daddr, e->dport) || !sock_wanted(sk, &o)) {
		bpf_ringbuf_discard(e, RB_FLAGS);
		return;
	}
	fill_hdr_sock(&e->hdr, e->hdr.type, o);
	flow_count(e, what, n);
	bpf_ringbuf_submit(e, RB_FLAGS);
}

/* Ports and addresses of a tcp tracepoint record into e, once e->family is set. A macro, not a function:
 * the tcp_event_sk_skb, tcp_retransmit_skb (6.17+) and tcp_retransmit_synack records name these fields
 * alike but are different structs. */
#define TP_READ_ENDS(e, ctx)                                                 \
	do {                                                                 \
		(e)->sport = BPF_CORE_READ(ctx, sport);                       \
		(e)->dport = BPF_CORE_READ(ctx, dport);                       \
		if ((e)->family == AF_INET6) {                                \
			BPF_CORE_READ_INTO(&(e)->saddr, ctx, saddr_v6);        \
			BPF_CORE_READ_INTO(&(e)->daddr, ctx, daddr_v6);        \
		} else {                                                      \
			BPF_CORE_READ_INTO((__u32 *)(e)->saddr, ctx, saddr);   \
			BPF_CORE_READ_INTO((__u32 *)(e)->daddr, ctx, daddr);   \
		}                                                             \
	} while (0)

/* The family of a tcp_event_sk_skb record: its own field where the kernel has one, else the socket's
 * (what later kernels store there), else from the addresses, stored v4-mapped for IPv4 on 5.10. */
static __always_inline __u16 sk_skb_family(struct trace_event_raw_tcp_event_sk_skb *ctx)
{
	if (bpf_core_field_exists(ctx->family))
		return BPF_CORE_READ(ctx, family);
	const struct sock *sk = BPF_CORE_READ(ctx, skaddr);
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_family);
	__u32 w[3] = {};
	BPF_CORE_READ_INTO(&w, ctx, saddr_v6);
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff) ? AF_INET : AF_INET6;
}

/* The addresses of a tcp_event_sk_skb record into e (the same fields as the 6.17+ class). */
static __always_inline void sk_skb_addrs(struct st_tcp_event *e, struct trace_event_raw_tcp_event_sk_skb *ctx)
{
	e->family = sk_skb_family(ctx);
	TP_READ_ENDS(e, ctx);
}

/* Until 6.17 (ad892e912b84, "tcp: trace retransmit failures in tcp_retransmit_skb") the event used
 * the shared tcp_event_sk_skb class and fired for sent retransmits only; the class of its own adds
 * `err`. Both are read through CO-RE: bpf_core_type_exists picks the running kernel's. */
SEC("tracepoint/tcp/tcp_retransmit_skb")
int retransmit_skb(void *raw)
{
	struct st_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	const struct sk_buff *skb;
	int err = 0;
	e->hdr.type = ST_EV_RETRANSMIT;
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *ctx = raw;
		tcp_event_init(e, (__u64)BPF_CORE_READ(ctx, skaddr), BPF_CORE_READ(ctx, state));
		e->family = BPF_CORE_READ(ctx, family);
		TP_READ_ENDS(e, ctx);
		skb = BPF_CORE_READ(ctx, skbaddr);
		if (bpf_core_field_exists(ctx->err))
			err = BPF_CORE_READ(ctx, err);
	} else {
		struct trace_event_raw_tcp_event_sk_skb *ctx = raw;
		tcp_event_init(e, (__u64)BPF_CORE_READ(ctx, skaddr), BPF_CORE_READ(ctx, state));
		sk_skb_addrs(e, ctx);
		skb = BPF_CORE_READ(ctx, skbaddr);
	}
	/* tcp_skb_pcount(): TCP_SKB_CB(skb)->tcp_gso_segs, what __tcp_retransmit_skb adds to TcpRetransSegs. */
	const struct tcp_skb_cb *cb = (const void *)((const char *)skb + bpf_core_field_offset(struct sk_buff, cb));
	__u16 segs = BPF_CORE_READ(cb, tcp_gso_segs);
	e->segs = segs ? segs : 1;
	e->err = err < 0 ? -err : err;
	/* Only a sent retransmit counts in TcpRetransSegs (__tcp_retransmit_skb), so only those count here. */
	tcp_event_emit(e, (const struct sock *)e->sock_id, FLOW_RETRANSMIT, err ? 0 : e->segs);
	return 0;
}

/* A SYN-ACK resent for a request sock (tcp_rtx_synack): also counted in TcpRetransSegs. sock_id is
 * the request sock, the owner is the listener's; state is TCP_NEW_SYN_RECV. */
SEC("tracepoint/tcp/tcp_retransmit_synack")
int retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	struct st_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	tcp_event_init(e, (__u64)BPF_CORE_READ(ctx, req), TCP_NEW_SYN_RECV);
	e->hdr.type = ST_EV_RETRANSMIT;
	e->segs = 1;
	if (bpf_core_field_exists(ctx->family)) {
		e->family = BPF_CORE_READ(ctx, family);
	} else { /* 5.10: the listener's family, what later kernels store here */
		const struct sock *l = BPF_CORE_READ(ctx, skaddr);
		e->family = BPF_CORE_READ(l, __sk_common.skc_family);
	}
	TP_READ_ENDS(e, ctx);
	tcp_event_emit(e, (const struct sock *)BPF_CORE_READ(ctx, skaddr), FLOW_RETRANSMIT, 1);
	return 0;
}

/* Addresses from a struct sockaddr_in/sockaddr_in6 as the tracepoint stored them (sk may be NULL). */
static __always_inline __u16 sockaddr_read(const __u8 *sa, __u8 *addr, __u16 *port)
{
	__u16 family = 0, port_be = 0;
	bpf_probe_read_kernel(&family, 2, sa);
	bpf_probe_read_kernel(&port_be, 2, sa + 2);
	*port = bpf_ntohs(port_be);
	if (family == AF_INET6)
		bpf_probe_read_kernel(addr, 16, sa + 8);
	else
		bpf_probe_read_kernel(addr, 4, sa + 4);
	return family;
}

/* Until 6.10 ("trace: tcp: fully support trace_tcp_send_reset") the event used the shared
 * tcp_event_sk_skb class, without `reason` and never without a socket; the class of its own stores
 * sockaddrs. bpf_core_type_exists picks the running kernel's; the reason is then 0 and listed as
 * unavailable in the session (src/bundles/retransmit.ts). */
SEC("tracepoint/tcp/tcp_send_reset")
int retransmit_send_reset(void *raw)
{
	struct st_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	e->hdr.type = ST_EV_SEND_RESET;
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset)) {
		struct trace_event_raw_tcp_send_reset *ctx = raw;
		tcp_event_init(e, (__u64)BPF_CORE_READ(ctx, skaddr), BPF_CORE_READ(ctx, state));
		if (bpf_core_field_exists(ctx->reason))
			e->reason = BPF_CORE_READ(ctx, reason);
		e->family = sockaddr_read((const __u8 *)ctx + bpf_core_field_offset(ctx->saddr), e->saddr, &e->sport);
		sockaddr_read((const __u8 *)ctx + bpf_core_field_offset(ctx->daddr), e->daddr, &e->dport);
	} else {
		struct trace_event_raw_tcp_event_sk_skb *ctx = raw;
		tcp_event_init(e, (__u64)BPF_CORE_READ(ctx, skaddr), BPF_CORE_READ(ctx, state));
		sk_skb_addrs(e, ctx);
	}
	tcp_event_emit(e, (const struct sock *)e->sock_id, FLOW_SEND_RESET, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(retransmit_recv_reset, const struct sock *sk)
{
	struct st_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	tcp_event_init(e, (__u64)sk, sk->__sk_common.skc_state);
	e->hdr.type = ST_EV_RECV_RESET;
	e->family = sk_addrs_btf(sk, e->saddr, e->daddr, &e->sport, &e->dport);
	tcp_event_emit(e, sk, FLOW_RECV_RESET, 1);
	return 0;
}

/* Packets the kernel dropped, per `enum skb_drop_reason` (include/net/dropreason-core.h; subsystem
 * reasons keep their high bits). Host-wide: a dropped skb has no trustworthy owner, so no filter
 * applies. Snapshotted with flow_counters. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} drop_reasons SEC(".maps");

/* skb:kfree_skb with its reason argument: 5.17+ (c504e5c2f964, "net: skb: introduce
 * kfree_skb_reason()"). On an older kernel the raw tracepoint has two arguments and attaching a
 * program that reads a third fails, so the loader leaves this one out (enum skb_drop_reason absent
 * from the kernel's BTF) and the session lists drop reasons as unavailable. consume_skb, the normal
 * end of an skb, is another tracepoint. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(retransmit_drop, struct sk_buff *skb, void *location, __u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drop_reasons, &reason);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return 0;
	}
	__u64 one = 1;
	long err = bpf_map_update_elem(&drop_reasons, &reason, &one, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU inserted it first */) {
		n = bpf_map_lookup_elem(&drop_reasons, &reason);
		if (n)
			__sync_fetch_and_add(n, 1);
	} else if (err) {
		count_loss(ST_LOSS_MAP_FULL);
	}
	return 0;
}

/* Owner bookkeeping, so this bundle attributes on its own. With the connect bundle loaded and
 * sock_owners shared, connect_state/connect_destroy do the same and these two may be left out
 * (setAutoload false): they are idempotent, so keeping both only costs a second map update. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(retransmit_owner_state, const struct sock *sk, int oldstate, int newstate)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		owner_on_state(sk, oldstate, newstate, false);
	return 0;
}

/* Without bpf_get_current_task_btf (common.bpf.h, program variants). */
SEC("?tp_btf/inet_sock_set_state")
int BPF_PROG(retransmit_owner_state_compat, const struct sock *sk, int oldstate, int newstate)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		owner_on_state(sk, oldstate, newstate, true);
	return 0;
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(retransmit_owner_destroy, const struct sock *sk)
{
	owner_on_destroy(sk);
	return 0;
}

/* Start snapshot: owners of sockets that existed before the recording (writes no records). */
SEC("iter/task_file")
int retransmit_owners(struct bpf_iter__task_file *ctx)
{
	return owners_from_file(ctx);
}
