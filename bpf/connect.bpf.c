/* connect bundle: outbound connect(2) with its result, accept(2), every TCP state change attributed
 * to the socket's owner, and the start-of-recording snapshot of TCP sockets with their owners. */
#include "net.bpf.h"
#include "syscall.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

#define SOCKADDR_MAX 28 /* sizeof(struct sockaddr_in6) */

/* Make the record types visible in this object's BTF for the layout check. */
struct st_connect *unused_connect __attribute__((unused));
struct st_sock_state *unused_sock_state __attribute__((unused));
struct st_owner *unused_owner __attribute__((unused));

/* fd → struct sock of the current task (current->files->fdt->fd[fd]), or NULL if not a socket. */
static __always_inline struct sock *fd_sock(int fd, const bool compat)
{
	__u64 fds = 0; /* the array as a number: no arithmetic on BTF pointers */
	if (compat) {
		struct fdtable *fdt = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), files, fdt);
		if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
			return NULL;
		fds = (__u64)BPF_CORE_READ(fdt, fd);
	} else {
		struct task_struct *t = bpf_get_current_task_btf();
		struct fdtable *fdt = t->files->fdt;
		if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
			return NULL;
		bpf_core_read(&fds, sizeof(fds), &fdt->fd);
	}
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), (const void *)(fds + (__u64)fd * sizeof(f))) || !f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(so, sk);
}

/* The peer named in a sockaddr: address bytes and port (host order). */
static __always_inline void sockaddr_peer(const __u8 *addr, __u16 family, __u8 *daddr, __u16 *dport)
{
	__u16 port_be;
	__builtin_memcpy(&port_be, addr + 2, 2);
	*dport = bpf_ntohs(port_be);
	if (family == AF_INET6)
		__builtin_memcpy(daddr, addr + 8, 16); /* sin6_addr */
	else
		__builtin_memcpy(daddr, addr + 4, 4);  /* sin_addr */
}

/* connect(2) has returned: one record with the result. The arguments are still in the saved user
 * registers (x86-64: di, si, dx), and the sockaddr in the caller's memory, where the kernel just read
 * it. The attempt's start is the SYN (owner_on_state stamps syn_ns at SYN_SENT, inside this call or
 * an earlier non-blocking one); UDP and a TCP connect refused before any SYN start when they return. */
static __always_inline int on_connect(struct pt_regs *regs, long ret, const bool compat)
{
	if (!current_wanted())
		return 0;
	int fd = regs->di;
	const void *uaddr = (const void *)regs->si;
	long len = regs->dx;
	__u8 addr[SOCKADDR_MAX] = {};
	/* Fixed-size reads: sockaddr_in (16 bytes) first, then through sin6_addr (24) for IPv6. The
	 * kernel rejects shorter lengths for these families, so nothing past the caller's buffer is read. */
	if (len < 16 || bpf_probe_read_user(addr, 16, uaddr))
		return 0;
	__u16 family;
	__builtin_memcpy(&family, addr, 2);
	/* Unix sockets and AF_UNSPEC (dissolve an association) are not network connections. */
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (family == AF_INET6 && (len < 24 || bpf_probe_read_user(addr, 24, uaddr)))
		return 0;
	__u8 daddr[ST_ADDR_LEN] = {};
	__u16 dport;
	sockaddr_peer(addr, family, daddr, &dport);
	if (!remote_wanted(family, daddr, dport))
		return 0;
	struct sock *sk = fd_sock(fd, compat);
	struct st_connect *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	struct st_owner me;
	owner_from_current(&me, compat);
	fill_hdr_current(&e->hdr, ST_EV_CONNECT, &me);
	e->sock_id = (__u64)sk;
	e->enter_ns = e->hdr.ts_ns;
	e->ret = ret;
	e->fd = fd;
	e->family = family;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, daddr, sizeof(e->daddr));
	e->dport = dport;
	e->sock_type = 0;
	e->protocol = 0;
	/* The local end as the kernel chose it. A refused TCP connect has already released its
	 * port (sport 0 here): the SYN_SENT state change carries it. */
	e->sport = 0;
	if (sk) {
		e->sock_type = BPF_CORE_READ(sk, sk_type);
		e->protocol = BPF_CORE_READ(sk, sk_protocol);
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		if (family == AF_INET6)
			BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		else
			BPF_CORE_READ_INTO((__u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
		__u64 key = (__u64)sk;
		struct st_owner *o = bpf_map_lookup_elem(&sock_owners, &key);
		if (o && o->syn_ns && o->tgid == me.tgid)
			e->enter_ns = o->syn_ns;
	}
	bpf_ringbuf_submit(e, RB_FLAGS);
	return 0;
}

/* accept(2)/accept4(2): the accepting process becomes the socket's owner, replacing the listener's. */
static __always_inline int on_accept(long fd, const bool compat)
{
	if (fd < 0)
		return 0; /* EAGAIN on every idle poll of a non-blocking listener: not worth a record */
	struct sock *sk = fd_sock(fd, compat);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	struct st_owner o = {};
	owner_from_current(&o, compat);
	owner_store((__u64)sk, &o);
	if (!current_wanted())
		return 0;
	struct st_connect *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	e->family = sk_addrs(sk, e->saddr, e->daddr, &e->sport, &e->dport);
	if (!remote_wanted(e->family, e->daddr, e->dport)) {
		bpf_ringbuf_discard(e, RB_FLAGS);
		return 0;
	}
	fill_hdr_current(&e->hdr, ST_EV_ACCEPT, &o);
	e->sock_id = (__u64)sk;
	e->enter_ns = 0;
	e->ret = fd;
	e->fd = fd;
	e->sock_type = BPF_CORE_READ(sk, sk_type);
	e->protocol = IPPROTO_TCP;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	bpf_ringbuf_submit(e, RB_FLAGS);
	return 0;
}

static __always_inline int connect_syscall(struct pt_regs *regs, long nr, long ret, const bool compat)
{
	if (nr != NR_CONNECT && nr != NR_ACCEPT && nr != NR_ACCEPT4)
		return 0;
	if (current_is_ia32(compat))
		return 0;
	if (nr == NR_CONNECT)
		return on_connect(regs, ret, compat);
	return on_accept(ret, compat);
}

/* connect, accept and accept4: this program on each one's exit tracepoint (this section names the first;
 * BundleSpec.alsoAttach the others), so no other syscall runs a program of this bundle (syscall.bpf.h).
 * The sockaddr is read back from the saved registers at exit. */
SEC("tracepoint/syscalls/sys_exit_connect")
int connect_exit(struct syscall_exit_ctx *ctx)
{
	struct pt_regs *regs = syscall_regs();
	if (!regs)
		return 0;
	return connect_syscall(regs, ctx->nr, ctx->ret, false);
}

/* Compat kernels (no bpf_get_current_task_btf or bpf_task_pt_regs: 5.10): the three on the raw sys_exit
 * tracepoint, read with probe reads (common.bpf.h, program variants). Attached only when the filewrite
 * bundle is not loaded; with it, connect_sys_exit_tail_compat runs instead, reached by tail call from
 * filewrite's compat program (slot TAIL_CONNECT of sys_exit_tails), so that one program runs per syscall. */
SEC("?tp_btf/sys_exit")
int BPF_PROG(connect_sys_exit_compat, struct pt_regs *regs, long ret)
{
	return connect_syscall(regs, regs->orig_ax, ret, true);
}

SEC("?tp_btf/sys_exit")
int BPF_PROG(connect_sys_exit_tail_compat, struct pt_regs *regs, long ret)
{
	return connect_syscall(regs, regs->orig_ax, ret, true);
}

static __always_inline void fill_sock_state(struct st_sock_state *e, const struct sock *sk, int oldstate, int newstate, bool btf)
{
	e->sock_id = (__u64)sk;
	e->oldstate = oldstate;
	e->newstate = newstate;
	e->protocol = IPPROTO_TCP;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	e->pad = 0;
	if (btf) {
		e->family = sk_addrs_btf(sk, e->saddr, e->daddr, &e->sport, &e->dport);
		/* tcp_reset()/tcp_write_err() set sk_err before tcp_done() moves the socket to CLOSE. */
		e->sk_err = sk->sk_err;
	} else {
		/* The iterator also walks request and time-wait socks, which end after sock_common. */
		e->family = sk_addrs(sk, e->saddr, e->daddr, &e->sport, &e->dport);
		e->sk_err = 0;
	}
}

/* tp_btf, not raw_tp: the socket is a typed pointer, read with plain loads (this fires ~10 times per
 * connection, so it is the bundle's hot path). */
static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, const bool compat)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0; /* MPTCP and SCTP fire here too */
	owner_on_state(sk, oldstate, newstate, compat);
	struct st_owner *o;
	if (!sock_wanted(sk, &o))
		return 0;
	struct st_sock_state *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	fill_sock_state(e, sk, oldstate, newstate, true);
	if (remote_filter_set() && !remote_wanted(e->family, e->daddr, e->dport)) {
		bpf_ringbuf_discard(e, RB_FLAGS);
		return 0;
	}
	fill_hdr_sock(&e->hdr, ST_EV_SOCK_STATE, o);
	bpf_ringbuf_submit(e, RB_FLAGS);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(connect_state, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, false);
}

/* Without bpf_get_current_task_btf (common.bpf.h, program variants). */
SEC("?tp_btf/inet_sock_set_state")
int BPF_PROG(connect_state_compat, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, true);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(connect_destroy, const struct sock *sk)
{
	owner_on_destroy(sk);
	return 0;
}

/* Start snapshot, step 1: owners of every existing TCP socket (see owners_from_file). */
SEC("iter/task_file")
int connect_owners(struct bpf_iter__task_file *ctx)
{
	return owners_from_file(ctx);
}

/* Start snapshot, step 2: one ST_EV_SOCK per TCP socket of the recorder's netns (full, time-wait
 * and request sockets), framed like ring records (as exec_snapshot does). */
SEC("iter/tcp")
int connect_snapshot(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	const struct sock *sk = (const struct sock *)skc;
	struct st_sock_state e = {};
	int state = BPF_CORE_READ(skc, skc_state);
	struct st_owner *o;
	if (!sock_wanted(sk, &o))
		return 0;
	fill_sock_state(&e, sk, state, state, false);
	if (!remote_wanted(e.family, e.daddr, e.dport))
		return 0;
	fill_hdr_sock(&e.hdr, ST_EV_SOCK, o);
	__u32 framing[2] = { sizeof(e), 0 };
	bpf_seq_write(ctx->meta->seq, framing, sizeof(framing));
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e)); /* 120 bytes: already 8-aligned, no padding */
	return 0;
}
