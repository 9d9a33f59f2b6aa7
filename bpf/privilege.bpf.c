/* privilege bundle: escalation and tampering. One record per privilege-relevant syscall when it returns,
 * failed calls included (a refused setuid(0) or ptrace is evidence too): the setuid family and capset
 * with the credentials before and after, ptrace attach/seize/poke, module loads and unloads, bpf program
 * and map creation, mount/umount2/pivot_root, unshare/setns, memfd_create, prctl(PR_SET_NAME), and
 * SIGKILL/SIGSTOP sent to another process.
 *
 * Hooks (syscall.bpf.h): privilege_exit on each of these syscalls' exit tracepoint, so no other syscall
 * runs a program of this bundle; the arguments are read back from the saved user registers. The
 * credentials before a call that changes them, and the name before a rename, cannot be read at exit:
 * privilege_enter, on the enter tracepoints of only those ten syscalls (the setuid family, capset,
 * prctl), stashes them per thread. Compat kernels (5.10: no bpf_task_pt_regs) run
 * privilege_sys_exit_compat on the raw sys_exit tracepoint, or, when the filewrite bundle is loaded,
 * privilege_sys_exit_tail_compat by tail call from its raw program (slot TAIL_PRIVILEGE). */
#include "path.bpf.h"
#include "syscall.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Make the record type visible in this object's BTF for the layout check. */
struct st_priv *unused_priv __attribute__((unused));

/* The credentials as st_priv lays out new_* and old_* (48 bytes each). */
struct cred_snap {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
	__u64 cap_eff, cap_perm;
};

/* What a cred-changing syscall or a rename is about to change, per thread (key: pid), from its sys_enter.
 * An LRU: an eviction (or a thread that never returns) only loses the "before". */
struct priv_stash {
	struct cred_snap cred;
	char comm[ST_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct priv_stash);
} priv_stash SEC(".maps");

/* One record being built: the fixed part, then the strings packed one after the other (each at most
 * ST_PRIV_STR_MAX - 1 bytes; room for the verifier's masked offsets). */
#define STR_MAX ST_PRIV_STR_MAX
struct priv_scratch {
	struct st_priv ev;
	char data[4 * STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct priv_scratch);
} priv_scratch SEC(".maps");

#define PR_SET_NAME 15
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSER 6
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define BPF_MAP_CREATE 0
#define BPF_PROG_LOAD 5
#define SIGKILL 9
#define SIGSTOP 19
#define PID_FS_MAGIC 0x50494446        /* 6.9+: a pidfd is a pidfs file */
#define ANON_INODE_FS_MAGIC 0x09041934 /* before: an anonymous inode named "[pidfd]" */

static __always_inline void read_cred(struct cred_snap *c)
{
	const struct cred *cr = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_cred);
	c->uid = BPF_CORE_READ(cr, uid.val);
	c->euid = BPF_CORE_READ(cr, euid.val);
	c->suid = BPF_CORE_READ(cr, suid.val);
	c->fsuid = BPF_CORE_READ(cr, fsuid.val);
	c->gid = BPF_CORE_READ(cr, gid.val);
	c->egid = BPF_CORE_READ(cr, egid.val);
	c->sgid = BPF_CORE_READ(cr, sgid.val);
	c->fsgid = BPF_CORE_READ(cr, fsgid.val);
	/* 8 bytes whichever layout the kernel has (vmlinux_min.h, kernel_cap_t) */
	c->cap_eff = 0;
	c->cap_perm = 0;
	bpf_core_read(&c->cap_eff, sizeof(c->cap_eff), &cr->cap_effective);
	bpf_core_read(&c->cap_perm, sizeof(c->cap_perm), &cr->cap_permitted);
}

/* The pid (initial namespace) a pidfd refers to, or 0 (not a pidfd: e.g. a /proc/PID directory). A pidfs
 * file (6.9+) keeps its struct pid in the inode's i_private; an anonymous-inode pidfd in private_data. */
static __always_inline __s32 pidfd_pid(long fd)
{
	struct file *f = current_fd_file_probe(fd);
	if (!f)
		return 0;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
	struct pid *p;
	if (magic == PID_FS_MAGIC) {
		p = BPF_CORE_READ(inode, i_private);
	} else {
		if (magic != ANON_INODE_FS_MAGIC)
			return 0;
		char name[8] = {};
		bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
		if (name[0] != '[' || name[1] != 'p' || name[2] != 'i' || name[3] != 'd' || name[4] != 'f' ||
		    name[5] != 'd' || name[6] != ']' || name[7] != 0)
			return 0;
		p = BPF_CORE_READ(f, private_data);
	}
	int nr = 0;
	if (p)
		bpf_core_read(&nr, sizeof(nr), &p->numbers[0].nr);
	return nr;
}

/* The inode number of the current task's file at `fd`: a namespace file's is the namespace's id (what
 * /proc/PID/ns/ links show, e.g. uts:[4026531838]). */
static __always_inline __u32 fd_ino(long fd)
{
	struct file *f = current_fd_file_probe(fd);
	if (!f)
		return 0;
	return BPF_CORE_READ(f, f_inode, i_ino);
}

/* A NUL-terminated string from the caller's memory into dst (at most `max` - 1 bytes kept, no NUL). */
static __always_inline __u32 user_str(char *dst, const void *src, const __u32 max, __u16 *flags)
{
	if (!src)
		return 0;
	long n = bpf_probe_read_user_str(dst, max, src);
	if (n <= 0) {
		*flags |= ST_PRIV_READ_FAIL;
		return 0;
	}
	if (n >= max)
		*flags |= ST_PRIV_STR_TRUNC; /* filled the buffer: the string may go on */
	return (n - 1) & (STR_MAX - 1);
}

/* The path of the current task's file at `fd` (the kernel's own view: a module file, a namespace file). */
static __always_inline __u32 fd_path(char *dst, long fd, __u16 *flags)
{
	struct file *f = current_fd_file_probe(fd);
	struct path_scratch *ps = path_scratch_get();
	if (!f || !ps)
		return 0;
	__u16 pf = 0;
	__u32 start = resolve_path(ps, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), &pf);
	__u32 len = copy_path(dst, STR_MAX, ps, start, &pf);
	if (pf & ST_PATH_TRUNC)
		*flags |= ST_PRIV_STR_TRUNC;
	return len;
}

static __always_inline __u16 priv_op(long nr)
{
	switch (nr) {
	case NR_SETUID: return ST_PRIV_OP_SETUID;
	case NR_SETGID: return ST_PRIV_OP_SETGID;
	case NR_SETREUID: return ST_PRIV_OP_SETREUID;
	case NR_SETREGID: return ST_PRIV_OP_SETREGID;
	case NR_SETRESUID: return ST_PRIV_OP_SETRESUID;
	case NR_SETRESGID: return ST_PRIV_OP_SETRESGID;
	case NR_SETFSUID: return ST_PRIV_OP_SETFSUID;
	case NR_SETFSGID: return ST_PRIV_OP_SETFSGID;
	case NR_CAPSET: return ST_PRIV_OP_CAPSET;
	case NR_PTRACE: return ST_PRIV_OP_PTRACE;
	case NR_INIT_MODULE: return ST_PRIV_OP_INIT_MODULE;
	case NR_FINIT_MODULE: return ST_PRIV_OP_FINIT_MODULE;
	case NR_DELETE_MODULE: return ST_PRIV_OP_DELETE_MODULE;
	case NR_BPF: return ST_PRIV_OP_BPF;
	case NR_MOUNT: return ST_PRIV_OP_MOUNT;
	case NR_UMOUNT2: return ST_PRIV_OP_UMOUNT;
	case NR_PIVOT_ROOT: return ST_PRIV_OP_PIVOT_ROOT;
	case NR_UNSHARE: return ST_PRIV_OP_UNSHARE;
	case NR_SETNS: return ST_PRIV_OP_SETNS;
	case NR_MEMFD_CREATE: return ST_PRIV_OP_MEMFD_CREATE;
	case NR_PRCTL: return ST_PRIV_OP_PRCTL_SET_NAME;
	case NR_KILL: return ST_PRIV_OP_KILL;
	case NR_TGKILL: return ST_PRIV_OP_TGKILL;
	case NR_PIDFD_SEND_SIGNAL: return ST_PRIV_OP_PIDFD_SEND_SIGNAL;
	default: return 0;
	}
}

/* The syscalls whose "before" privilege_enter stashes. */
static __always_inline bool changes_cred(__u16 op)
{
	return op >= ST_PRIV_OP_SETUID && op <= ST_PRIV_OP_CAPSET;
}

static __always_inline bool kill_signal(unsigned long sig)
{
	return sig == SIGKILL || sig == SIGSTOP;
}

/* One hooked syscall has returned (`nr`, `ret`; arguments in `regs`). */
static __always_inline int on_priv(struct pt_regs *regs, long nr, long ret, const bool compat)
{
	__u16 op = priv_op(nr);
	if (!op)
		return 0;
	if (current_is_ia32(compat))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = (__u32)id;
	__s32 tgid = id >> 32;
	struct priv_stash *st = NULL;
	if (changes_cred(op) || op == ST_PRIV_OP_PRCTL_SET_NAME)
		st = bpf_map_lookup_elem(&priv_stash, &pid);
	unsigned long a0 = regs->di, a1 = regs->si, a2 = regs->dx, a3 = regs->r10;
	__s32 target = 0;
	switch (op) {
	case ST_PRIV_OP_PTRACE: /* not PEEKs or a tracer's routine requests */
		if (a0 != PTRACE_ATTACH && a0 != PTRACE_SEIZE && a0 != PTRACE_POKETEXT && a0 != PTRACE_POKEDATA &&
		    a0 != PTRACE_POKEUSER)
			return 0;
		target = a1;
		break;
	case ST_PRIV_OP_BPF:
		if (a0 != BPF_PROG_LOAD && a0 != BPF_MAP_CREATE)
			return 0;
		break;
	case ST_PRIV_OP_PRCTL_SET_NAME:
		if (a0 != PR_SET_NAME)
			return 0;
		break;
	case ST_PRIV_OP_KILL:
		if (!kill_signal(a1) || (__s32)a0 == tgid)
			return 0;
		target = a0;
		break;
	case ST_PRIV_OP_TGKILL:
		if (!kill_signal(a2) || (__s32)a0 == tgid)
			return 0;
		target = a0;
		break;
	case ST_PRIV_OP_PIDFD_SEND_SIGNAL:
		if (!kill_signal(a1))
			return 0;
		target = pidfd_pid(a0);
		if (target == tgid)
			return 0;
		break;
	}
	if (!current_wanted())
		return 0; /* (a stash left behind is overwritten or evicted) */
	__u32 zero = 0;
	struct priv_scratch *s = bpf_map_lookup_elem(&priv_scratch, &zero);
	if (!s)
		return 0;
	struct st_priv *e = &s->ev;
	fill_hdr(&e->hdr, ST_EV_PRIV);
	e->ret = ret;
	e->target = target;
	e->arg0 = a0;
	e->arg1 = a1;
	e->arg2 = a2;
	e->arg3 = a3;
	struct cred_snap now;
	read_cred(&now);
	__builtin_memcpy(&e->new_uid, &now, sizeof(now));
	__builtin_memset(&e->old_uid, 0, sizeof(now));
	e->aux = 0;
	e->op = op;
	e->pad = 0;
	__builtin_memset(e->aux_comm, 0, sizeof(e->aux_comm));
	__u16 flags = 0;
	if (st) {
		if (changes_cred(op)) {
			__builtin_memcpy(&e->old_uid, &st->cred, sizeof(st->cred));
			flags |= ST_PRIV_OLD_CRED;
		} else {
			__builtin_memcpy(e->aux_comm, st->comm, sizeof(e->aux_comm));
			flags |= ST_PRIV_OLD_COMM;
		}
		bpf_map_delete_elem(&priv_stash, &pid);
	}
	__u32 l1 = 0, l2 = 0, l3 = 0;
	char *d = s->data;
	switch (op) {
	case ST_PRIV_OP_INIT_MODULE: /* (image, len, uargs): the parameters; the name is inside the image */
		l1 = user_str(d, (const void *)a2, STR_MAX, &flags);
		break;
	case ST_PRIV_OP_FINIT_MODULE: /* (fd, uargs, flags): the module file's path, the parameters */
		l1 = fd_path(d, a0, &flags);
		l2 = user_str(&d[l1 & (STR_MAX - 1)], (const void *)a1, STR_MAX, &flags);
		break;
	case ST_PRIV_OP_DELETE_MODULE: /* (name, flags) */
	case ST_PRIV_OP_UMOUNT:        /* (target, flags) */
	case ST_PRIV_OP_MEMFD_CREATE:  /* (name, flags) */
		l1 = user_str(d, (const void *)a0, STR_MAX, &flags);
		break;
	case ST_PRIV_OP_MOUNT: /* (source, target, fstype, flags, data) */
		l1 = user_str(d, (const void *)a0, STR_MAX, &flags);
		l2 = user_str(&d[l1 & (STR_MAX - 1)], (const void *)a1, STR_MAX, &flags);
		l3 = user_str(&d[(l1 + l2) & (2 * STR_MAX - 1)], (const void *)a2, STR_MAX, &flags);
		break;
	case ST_PRIV_OP_PIVOT_ROOT: /* (new_root, put_old) */
		l1 = user_str(d, (const void *)a0, STR_MAX, &flags);
		l2 = user_str(&d[l1 & (STR_MAX - 1)], (const void *)a1, STR_MAX, &flags);
		break;
	case ST_PRIV_OP_SETNS: /* (fd, nstype): the namespace's id (a pidfd's: its process) */
		e->aux = fd_ino(a0);
		break;
	case ST_PRIV_OP_PRCTL_SET_NAME: /* (PR_SET_NAME, name): the kernel keeps 15 bytes */
		l1 = user_str(d, (const void *)a1, ST_COMM_LEN, &flags);
		break;
	case ST_PRIV_OP_BPF: { /* (cmd, attr, size): the program or map type and name from the attr */
		__u32 type = 0;
		if (a2 >= 4 && bpf_probe_read_user(&type, sizeof(type), (const void *)a1) == 0)
			e->aux = type;
		__u64 name_at = a0 == BPF_PROG_LOAD ? 48 : 28; /* prog_name, map_name in union bpf_attr */
		if (a2 >= name_at + ST_COMM_LEN) {
			long n = bpf_probe_read_user_str(d, ST_COMM_LEN, (const void *)(a1 + name_at));
			l1 = n > 0 ? n - 1 : 0;
		}
		break;
	}
	}
	e->pflags = flags;
	e->str1_len = l1;
	e->str2_len = l2;
	e->str3_len = l3;
	__u32 size = sizeof(*e) + ((l1 + l2 + l3) & (4 * STR_MAX - 1));
	if (bpf_ringbuf_output(&events, s, size, RB_FLAGS))
		count_loss(ST_LOSS_RING_FULL);
	return 0;
}

/* Before a cred-changing call (the setuid family, capset) or prctl(PR_SET_NAME): what it will change. On
 * those ten syscalls' enter tracepoints only (this section names the first; BundleSpec.alsoAttach the
 * others): nothing else pays for it. The same program on every kernel (probe reads). */
SEC("tracepoint/syscalls/sys_enter_setuid")
int privilege_enter(struct syscall_enter_ctx *ctx)
{
	if (ctx->nr == NR_PRCTL && ctx->args[0] != PR_SET_NAME)
		return 0;
	if (!current_wanted())
		return 0;
	struct priv_stash st = {};
	read_cred(&st.cred);
	bpf_get_current_comm(st.comm, sizeof(st.comm));
	__u32 pid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&priv_stash, &pid, &st, BPF_ANY))
		count_loss(ST_LOSS_MAP_FULL);
	return 0;
}

/* The bundle's syscall program: on the exit tracepoint of each of its syscalls (PRIVILEGE_SYSCALLS in
 * src/bundles/privilege.ts; this section names the first), so no other syscall runs it (syscall.bpf.h). */
SEC("tracepoint/syscalls/sys_exit_setuid")
int privilege_exit(struct syscall_exit_ctx *ctx)
{
	struct pt_regs *regs = syscall_regs();
	if (!regs)
		return 0;
	return on_priv(regs, ctx->nr, ctx->ret, false);
}

/* Compat kernels (no bpf_get_current_task_btf or bpf_task_pt_regs: 5.10): the same on the raw sys_exit
 * tracepoint. Attached only when the filewrite bundle is not loaded; with it, the _tail_ twin runs
 * instead, reached by tail call from filewrite's compat program (slot TAIL_PRIVILEGE of sys_exit_tails). */
SEC("?tp_btf/sys_exit")
int BPF_PROG(privilege_sys_exit_compat, struct pt_regs *regs, long ret)
{
	return on_priv(regs, regs->orig_ax, ret, true);
}

SEC("?tp_btf/sys_exit")
int BPF_PROG(privilege_sys_exit_tail_compat, struct pt_regs *regs, long ret)
{
	return on_priv(regs, regs->orig_ax, ret, true);
}
