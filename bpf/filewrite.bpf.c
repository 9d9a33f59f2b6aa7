/* filewrite bundle: bytes written per (process, file), aggregated in the kernel, plus unlink, rename
 * and chmod with full paths. One small program per syscall on its exit tracepoint (syscall.bpf.h:
 * a syscall the bundle does not hook pays no BPF run); the arguments are read back from the task's
 * saved user registers, so there is no enter program and no stash map. */
#include "path.bpf.h"
#include "syscall.bpf.h"

#define BPF_MAP_TYPE_PERCPU_HASH 5 /* include/uapi/linux/bpf.h; kept out of the shared vmlinux_min.h */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* 0: regular files only (S_ISREG); 1: also pipes, sockets, ttys, devices (Filters.allFileTypes). */
const volatile __u8 cfg_all_file_types = 0;

/* Cumulative totals per (process identity, dev, ino), one value per CPU: each CPU only ever
 * writes its own value, so there are no atomics and no cache line moves between CPUs. Not an LRU:
 * an LRU evicts silently, and a silent drop is a bug (docs/EVENTS.md, "Common to every bundle": loss counters). When it is full, the write
 * goes to the ring as an st_file_write instead. A CPU's value lags behind its write_cache slot while
 * the key sits there (see below). User space dumps both maps with every snapshot. */
/* Not preallocated: preallocating 65,536 per-CPU entries takes ~45 ms of the time to attach, and
 * entries are inserted only when a key leaves its write_cache slot, off the hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_write_key);
	__type(value, struct st_write_val);
} write_totals SEC(".maps");

/* The hot path's per-CPU cache: WRITE_CACHE_SLOTS keys per CPU, direct-mapped by a hash of the key.
 * A slot holds the key's cumulative per-CPU totals, ahead of write_totals: the write hitting a slot
 * costs no hash lookup. A key only enters a slot when it is in write_totals; when another key takes
 * the slot, the slot's totals are first stored into the key's write_totals value of this CPU.
 * So for one (key, CPU), the write_totals value and the slot are two readings of one cumulative
 * series: the one with more calls is the newer (docs/EVENTS.md, filewrite bundle).
 * head and tail guard against a torn read by user space while a slot changes keys: the program
 * sets tail odd, rewrites key and totals, then sets head and tail to the same new even number.
 * User space copies a slot from head to tail: head != tail means torn, ignore that slot.
 * The plain read-modify-writes rely on one run at a time per CPU: the raw syscall tracepoint runs
 * BPF with preemption disabled (include/trace/bpf_probe.h, __BPF_DECLARE_TRACE_SYSCALL, 6.13+), and
 * the program's per-CPU recursion guard would skip (and count, recursion_misses) any nested run. */
struct write_slot {
	__u64 head;
	struct st_write_key key;
	struct st_write_val val;
	__u64 last_jiffies; /* jiffies when last_ns was stamped */
	__u64 tail;
};

#define WRITE_CACHE_SLOTS 8

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WRITE_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct write_slot);
} write_cache SEC(".maps");

/* Open flags that the struct file no longer shows: do_dentry_open() clears O_CREAT, O_EXCL and
 * O_TRUNC from f_flags. Keyed by the struct file's address, so dup2() and fork() inherit it;
 * the inode number guards against the address being reused for another file. An LRU is right
 * here: an eviction only loses the ST_PATH_OPEN_SEEN knowledge, never bytes. */
struct open_seen {
	__u32 flags;
	__u32 pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct open_seen);
} open_flags SEC(".maps");

/* Keys whose st_file_open was already sent while write_totals was full: keeps the overflow path
 * from sending a path with every write. An eviction here only repeats an st_file_open. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct st_write_key);
	__type(value, __u8);
} overflow_opens SEC(".maps");

struct open_scratch {
	struct st_file_open ev;
	char path[ST_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_scratch);
} open_scratch SEC(".maps");

/* A path built for a file op: the base directory (at most OP_PART - 1 bytes), '/', then the user's
 * string (at most OP_PART - 1 bytes). Two of them follow each other for rename. */
#define OP_PART 4096
#define OP_PATH_MASK (2 * OP_PART - 1)
struct op_scratch {
	struct st_file_op ev;
	char data[5 * OP_PART]; /* room for the verifier's worst case of two masked offsets */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct op_scratch);
} op_scratch SEC(".maps");

/* Make the record types visible in this object's BTF for the layout check. */
struct st_file_write *unused_file_write __attribute__((unused));
struct st_write_val *unused_write_val __attribute__((unused));
struct write_slot *unused_write_slot __attribute__((unused));

#define S_IFMT 0170000
#define S_IFREG 0100000
#define O_ACCMODE 03
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_OPEN_ONLY (O_CREAT | O_EXCL | O_TRUNC)
#define AT_FDCWD -100
#define EEXIST 17

/* A struct file from the fd array is a bare address: the cast lets the hot path read it with
 * plain loads instead of one bpf_probe_read_kernel per field (~20 ns each here). Linux 6.2+
 * (common.bpf.h, program variants): weak, so that an object whose compat twin is the one loaded
 * still opens on a kernel without it. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Any kernel type whose first member is a pointer: CO-RE resolves it to the kernel's list_head. */
struct list_head___fw {
	struct list_head___fw *next;
} __attribute__((preserve_access_index));

/* t->files->fdt->fd[fd], or NULL (t: current, as a BTF pointer). The fd array holds plain pointers,
 * which BTF cannot type: its slot is cast to a one-pointer struct and read with a plain load (a
 * faulting load reads 0), ~40 ns cheaper here than bpf_probe_read_kernel. */
static __always_inline struct file *task_fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = t->files->fdt;
	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	__u64 slot = (__u64)fdt->fd + fd * sizeof(void *);
	struct list_head___fw *p = bpf_rdonly_cast((void *)slot, bpf_core_type_id_kernel(struct list_head___fw));
	void *f = p->next;
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

static __always_inline struct file *fd_file(long fd, const bool compat)
{
	if (compat)
		return current_fd_file_probe(fd);
	return task_fd_file(bpf_get_current_task_btf(), fd);
}

/* current_wanted() for the hot path: with no filter but the recorder's own tgid (the common
 * case, decided by .rodata at load time), one load and one compare instead of helper calls. */
static __always_inline bool writer_wanted(__u32 tgid)
{
	if (tgid == cfg_self_tgid)
		return false;
	if (!cfg_follow && !cfg_cgroup_id && !cfg_uid_set && !cfg_comm_len)
		return true;
	return current_wanted();
}

static __always_inline void emit_file_open(const struct st_write_key *key, struct file *f, __u32 mode)
{
	__u32 zero = 0;
	struct open_scratch *s = bpf_map_lookup_elem(&open_scratch, &zero);
	struct path_scratch *ps = path_scratch_get();
	if (!s || !ps)
		return;
	struct st_file_open *e = &s->ev;
	fill_hdr(&e->hdr, ST_EV_FILE_OPEN);
	e->dev = key->dev;
	e->ino = key->ino;
	e->mode = mode;
	e->pad = 0;
	e->path_flags = 0;
	e->open_flags = BPF_CORE_READ(f, f_flags);
	__u64 addr = (__u64)f;
	struct open_seen *seen = bpf_map_lookup_elem(&open_flags, &addr);
	if (seen && seen->ino == key->ino) {
		e->open_flags |= seen->flags & O_OPEN_ONLY;
		e->path_flags |= ST_PATH_OPEN_SEEN;
	}
	__u16 pflags = 0;
	__u32 start = resolve_path(ps, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), &pflags);
	__u32 len = copy_path(s->path, ST_PATH_MAX, ps, start, &pflags);
	e->path_len = len;
	e->path_flags |= pflags;
	__u64 size = sizeof(*e) + (len & (ST_PATH_MAX - 1));
	if (bpf_ringbuf_output(&events, s, size, RB_FLAGS))
		count_loss(ST_LOSS_RING_FULL);
}

/* Totals that could not stay in the map, sent to the ring instead: one write when the map is full. */
static __always_inline void emit_file_write(const struct st_write_key *key, const struct st_write_val *v)
{
	struct st_file_write *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return;
	}
	fill_hdr(&e->hdr, ST_EV_FILE_WRITE);
	e->hdr.tgid = key->tgid; /* the key's process, even if not current (a slot's eviction) */
	e->hdr.start_ns = key->start_ns;
	e->dev = key->dev;
	e->ino = key->ino;
	e->bytes = v->bytes;
	e->calls = v->calls;
	e->first_ns = v->first_ns;
	e->last_ns = v->last_ns;
	bpf_ringbuf_submit(e, RB_FLAGS);
}

#define barrier() asm volatile("" ::: "memory")

/* Fills `slot` with `key`, whose totals on this CPU are `v` plus this write. Seen by user space
 * as one change between two even sequence numbers (struct write_slot). */
static __always_inline void slot_fill(struct write_slot *slot, const struct st_write_key *key, const struct st_write_val *v,
				      __u64 bytes, __u64 now)
{
	__u64 seq = slot->head + 2;
	slot->tail = seq - 1;
	barrier();
	slot->key = *key;
	slot->val.bytes = v->bytes + bytes;
	slot->val.calls = v->calls + 1;
	slot->val.first_ns = v->first_ns ? v->first_ns : now;
	slot->val.last_ns = now;
	slot->last_jiffies = bpf_jiffies64();
	barrier();
	slot->head = seq;
	slot->tail = seq;
}

static __always_inline bool key_eq(const struct st_write_key *a, const struct st_write_key *b)
{
	return a->tgid == b->tgid && a->ino == b->ino && a->start_ns == b->start_ns && a->dev == b->dev;
}

/* A write that returned `ret` bytes through fd `fd`. The hottest path in the product: the common
 * case is one fd-table walk, a few loads, one inlined per-CPU array lookup and a compare; no
 * hash lookup, no atomics, and the clock read once per tick. */
static __always_inline int on_write(long ret, long fd, const bool compat)
{
	struct file *f;
	struct inode *inode;
	__u32 mode;
	struct st_write_key key = { .pad = 0 };
	if (compat) { /* probe reads (common.bpf.h, program variants) */
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		key.tgid = BPF_CORE_READ(t, tgid);
		if (!writer_wanted(key.tgid))
			return 0;
		f = current_fd_file_probe(fd);
		if (!f)
			return 0;
		inode = BPF_CORE_READ(f, f_inode);
		mode = BPF_CORE_READ(inode, i_mode);
		if (!cfg_all_file_types && (mode & S_IFMT) != S_IFREG)
			return 0;
		key.start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
		key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		key.ino = BPF_CORE_READ(inode, i_ino);
	} else {
		struct task_struct *t = bpf_get_current_task_btf();
		if (is_compat(t))
			return 0;
		key.tgid = t->tgid;
		if (!writer_wanted(key.tgid))
			return 0;
		f = task_fd_file(t, fd);
		if (!f)
			return 0;
		inode = f->f_inode;
		mode = inode->i_mode;
		if (!cfg_all_file_types && (mode & S_IFMT) != S_IFREG)
			return 0;
		key.start_ns = t->group_leader->start_boottime;
		key.dev = inode->i_sb->s_dev;
		key.ino = inode->i_ino;
	}
	__u32 idx = (key.ino ^ (key.ino >> 3) ^ key.tgid) & (WRITE_CACHE_SLOTS - 1);
	struct write_slot *slot = bpf_map_lookup_elem(&write_cache, &idx);
	if (!slot)
		return 0;
	if (slot->val.calls && key_eq(&slot->key, &key)) {
		/* Hit. The clock is read once per scheduler tick: last_ns is the first write of the
		 * last tick with a write, at most one tick (1/HZ) before the true last write.
		 * bpf_jiffies64() is inlined into one load. */
		slot->val.bytes += ret;
		slot->val.calls += 1;
		__u64 j = bpf_jiffies64();
		if (j != slot->last_jiffies) {
			slot->last_jiffies = j;
			slot->val.last_ns = bpf_ktime_get_boot_ns();
		}
		return 0;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	if (slot->val.calls) {
		/* Evict: the slot's totals become the key's write_totals value on this CPU. */
		struct st_write_val *old = bpf_map_lookup_elem(&write_totals, &slot->key);
		if (old) {
			*old = slot->val;
		} else {
			/* Cannot happen (keys enter a slot only from the map, which never deletes): flush
			 * rather than lose, and count it. */
			count_loss(ST_LOSS_MAP_FULL);
			emit_file_write(&slot->key, &slot->val);
		}
		slot->val.calls = 0;
	}
	struct st_write_val *v = bpf_map_lookup_elem(&write_totals, &key);
	if (v) {
		slot_fill(slot, &key, v, ret, now);
		return 0;
	}
	struct st_write_val first = { .bytes = ret, .calls = 1, .first_ns = now, .last_ns = now };
	long err = bpf_map_update_elem(&write_totals, &key, &first, BPF_NOEXIST);
	if (err == 0) {
		struct st_write_val zero = {};
		slot_fill(slot, &key, &zero, ret, now);
		emit_file_open(&key, f, mode);
		return 0;
	}
	if (err == -EEXIST) { /* another CPU inserted it first: it sent the st_file_open */
		v = bpf_map_lookup_elem(&write_totals, &key);
		if (v) {
			slot_fill(slot, &key, v, ret, now);
			return 0;
		}
	}
	/* Full: the bytes go to the ring, with the path once per key. */
	count_loss(ST_LOSS_MAP_FULL);
	emit_file_write(&key, &first);
	__u8 one = 1;
	if (bpf_map_update_elem(&overflow_opens, &key, &one, BPF_NOEXIST) == 0)
		emit_file_open(&key, f, mode);
	return 0;
}

/* x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl: a stable ABI). The write family: */
#define NR_WRITE 1
#define NR_PWRITE64 18
#define NR_WRITEV 20
#define NR_SENDFILE 40
#define NR_PWRITEV 296
#define NR_COPY_FILE_RANGE 326
#define NR_PWRITEV2 328
/* Opens, and the file operations recorded one event each: */
#define NR_OPEN 2
#define NR_RENAME 82
#define NR_CREAT 85
#define NR_UNLINK 87
#define NR_CHMOD 90
#define NR_FCHMOD 91
#define NR_OPENAT 257
#define NR_UNLINKAT 263
#define NR_RENAMEAT 264
#define NR_FCHMODAT 268
#define NR_RENAMEAT2 316
#define NR_OPENAT2 437
#define NR_FCHMODAT2 452 /* Linux 6.6+ (glibc uses it for AT_SYMLINK_NOFOLLOW); older kernels never run it */
/* An open for writing: remember the flags the file will not keep. Read-only opens stop here. */
static __always_inline int on_open(long ret, __u32 flags, const bool compat)
{
	if (ret < 0 || (flags & O_ACCMODE) == 0 || !current_wanted())
		return 0;
	struct file *f = fd_file(ret, compat);
	if (!f)
		return 0;
	struct open_seen v = { .flags = flags, .pad = 0, .ino = BPF_CORE_READ(f, f_inode, i_ino) };
	__u64 addr = (__u64)f;
	bpf_map_update_elem(&open_flags, &addr, &v, BPF_ANY);
	return 0;
}

/* Builds the full path of a path argument at dst: when the user's string is relative, the cwd
 * (dfd == AT_FDCWD) or dfd's path, '/', then the string as given (not normalized: "." and ".."
 * stay, symlinks are not followed). Returns its length, at most 2 * OP_PART - 1. */
static __always_inline __u32 build_path(char *dst, long dfd, const char *upath, __u16 *flags, const bool compat)
{
	char first = 0;
	bpf_probe_read_user(&first, 1, upath);
	__u32 base = 0;
	if (first != '/') {
		struct dentry *d = NULL;
		struct vfsmount *m = NULL;
		if ((int)dfd == AT_FDCWD) {
			struct fs_struct *fs = BPF_CORE_READ(current_task(compat), fs);
			d = BPF_CORE_READ(fs, pwd.dentry);
			m = BPF_CORE_READ(fs, pwd.mnt);
		} else {
			struct file *f = fd_file((int)dfd, compat);
			if (f) {
				d = BPF_CORE_READ(f, f_path.dentry);
				m = BPF_CORE_READ(f, f_path.mnt);
			}
		}
		struct path_scratch *ps = path_scratch_get();
		if (d && ps) {
			__u32 start = resolve_path(ps, d, m, flags);
			base = copy_path(dst, OP_PART, ps, start, flags);
			if (base != 1) /* the root is "/" already */
				dst[base++ & (OP_PART - 1)] = '/';
		} else {
			*flags |= ST_PATH_BASE_UNREAD;
		}
	}
	long n = bpf_probe_read_user_str(&dst[base & OP_PATH_MASK], OP_PART, upath);
	if (n <= 0) {
		count_loss(ST_LOSS_READ_FAIL);
		*flags |= ST_PATH_TRUNC;
		return base;
	}
	if (n == OP_PART)
		*flags |= ST_PATH_TRUNC;
	if (n == 1 && base > 1) /* an empty path (AT_EMPTY_PATH): the directory itself */
		return base - 1;
	return (base + n - 1) & OP_PATH_MASK;
}

static __always_inline struct op_scratch *op_begin(__u16 type, long ret, __u32 mode)
{
	__u32 zero = 0;
	struct op_scratch *s = bpf_map_lookup_elem(&op_scratch, &zero);
	if (!s)
		return NULL;
	fill_hdr(&s->ev.hdr, type);
	s->ev.ret = ret;
	s->ev.mode = mode;
	s->ev.path_len = 0;
	s->ev.path2_len = 0;
	s->ev.path_flags = 0;
	s->ev.pad = 0;
	return s;
}

static __always_inline void op_send(struct op_scratch *s)
{
	__u64 size = sizeof(s->ev) + (s->ev.path_len & OP_PATH_MASK) + (s->ev.path2_len & OP_PATH_MASK);
	if (size > sizeof(*s))
		size = sizeof(*s);
	if (bpf_ringbuf_output(&events, s, size, RB_FLAGS))
		count_loss(ST_LOSS_RING_FULL);
}

/* One path argument. `mode`: chmod's new mode, unlinkat's flags. */
static __always_inline int on_path_op(__u16 type, long ret, long dfd, const char *upath, __u32 mode, const bool compat)
{
	if (!current_wanted())
		return 0;
	struct op_scratch *s = op_begin(type, ret, mode);
	if (!s)
		return 0;
	__u16 flags = 0;
	s->ev.path_len = build_path(s->data, dfd, upath, &flags, compat);
	s->ev.path_flags = flags;
	op_send(s);
	return 0;
}

static __always_inline int on_rename(long ret, long olddfd, const char *oldp, long newdfd, const char *newp, __u32 flags,
					     const bool compat)
{
	if (!current_wanted())
		return 0;
	struct op_scratch *s = op_begin(ST_EV_RENAME, ret, flags);
	if (!s)
		return 0;
	__u16 pflags = 0;
	__u32 len = build_path(s->data, olddfd, oldp, &pflags, compat);
	s->ev.path_len = len;
	s->ev.path2_len = build_path(&s->data[len & OP_PATH_MASK], newdfd, newp, &pflags, compat);
	s->ev.path_flags = pflags;
	op_send(s);
	return 0;
}

/* fchmod(fd, mode): the path is the open file's, resolved from its dentry. */
static __always_inline int on_fchmod(long ret, long fd, __u32 mode, const bool compat)
{
	if (!current_wanted())
		return 0;
	struct op_scratch *s = op_begin(ST_EV_CHMOD, ret, mode);
	struct path_scratch *ps = path_scratch_get();
	if (!s || !ps)
		return 0;
	struct file *f = fd_file(fd, compat);
	__u16 flags = 0;
	if (f) {
		__u32 start = resolve_path(ps, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), &flags);
		s->ev.path_len = copy_path(s->data, OP_PART, ps, start, &flags);
	} else {
		flags |= ST_PATH_BASE_UNREAD;
	}
	s->ev.path_flags = flags;
	op_send(s);
	return 0;
}

/* Opens, unlinks, renames and chmods. Each family has one call site, so the verifier walks the
 * path-building code once per family rather than once per syscall. The arguments are still in the
 * saved user registers at exit (x86-64 ABI: di, si, dx, r10, r8; only ax holds the result). */
static __always_inline int on_file_op(struct pt_regs *regs, long nr, long ret, const bool compat)
{
	__u16 type;
	long dfd = AT_FDCWD, dfd2 = AT_FDCWD;
	const char *p = NULL, *p2 = NULL;
	__u32 arg = 0;
	switch (nr) {
	case NR_OPEN: /* open(filename, flags, mode) */
	case NR_OPENAT: /* openat(dfd, filename, flags, mode) */
	case NR_OPENAT2: /* openat2(dfd, filename, struct open_how *how, size): how->flags first */
	case NR_CREAT: /* creat(pathname, mode) is open(pathname, O_CREAT|O_WRONLY|O_TRUNC, mode) */
		if (ret < 0)
			return 0;
		type = ST_EV_FILE_OPEN;
		break;
	case NR_FCHMOD: /* fchmod(fd, mode): dfd is the fd itself */
		type = ST_EV_CHMOD;
		dfd = regs->di;
		arg = regs->si;
		break;
	case NR_UNLINK: /* unlink(pathname) */
		type = ST_EV_UNLINK;
		p = (const char *)regs->di;
		break;
	case NR_CHMOD: /* chmod(filename, mode) */
		type = ST_EV_CHMOD;
		p = (const char *)regs->di;
		arg = regs->si;
		break;
	case NR_UNLINKAT: /* unlinkat(dfd, pathname, flag): AT_REMOVEDIR (0x200) makes it an rmdir */
	case NR_FCHMODAT: /* fchmodat(dfd, filename, mode) */
	case NR_FCHMODAT2: /* fchmodat2(dfd, filename, mode, flags) */
		type = nr == NR_UNLINKAT ? ST_EV_UNLINK : ST_EV_CHMOD;
		dfd = regs->di;
		p = (const char *)regs->si;
		arg = regs->dx;
		break;
	case NR_RENAME: /* rename(oldname, newname) */
		type = ST_EV_RENAME;
		p = (const char *)regs->di;
		p2 = (const char *)regs->si;
		break;
	case NR_RENAMEAT: /* renameat(olddfd, oldname, newdfd, newname) */
	case NR_RENAMEAT2: /* renameat2(..., flags): RENAME_NOREPLACE 1, EXCHANGE 2, WHITEOUT 4 */
		type = ST_EV_RENAME;
		dfd = regs->di;
		p = (const char *)regs->si;
		dfd2 = regs->dx;
		p2 = (const char *)regs->r10;
		if (nr == NR_RENAMEAT2)
			arg = regs->r8;
		break;
	default:
		return 0;
	}
	if (current_is_ia32(compat))
		return 0;
	if (type == ST_EV_FILE_OPEN) {
		__u64 flags = O_CREAT | 01 | O_TRUNC; /* creat */
		if (nr == NR_OPEN)
			flags = regs->si;
		else if (nr == NR_OPENAT)
			flags = regs->dx;
		else if (nr == NR_OPENAT2)
			bpf_probe_read_user(&flags, sizeof(flags), (void *)regs->dx);
		return on_open(ret, flags, compat);
	}
	if (nr == NR_FCHMOD)
		return on_fchmod(ret, dfd, arg, compat);
	if (type == ST_EV_RENAME)
		return on_rename(ret, dfd, p, dfd2, p2, arg, compat);
	return on_path_op(type, ret, dfd, p, arg, compat);
}

/* One syscall's exit, `nr` its number. `raw`: the compat program on raw sys_exit, which sees every
 * syscall and hands connect's to that bundle by tail call. */
static __always_inline int on_syscall(void *ctx, struct pt_regs *regs, long nr, long ret, const bool compat,
				      const bool raw)
{
	long fd;
	switch (nr) {
	case NR_WRITE:
	case NR_PWRITE64:
	case NR_WRITEV:
	case NR_PWRITEV:
	case NR_PWRITEV2:
	case NR_SENDFILE: /* sendfile(out_fd, in_fd, offset, count): the bytes land in out_fd */
		fd = regs->di;
		break;
	case NR_COPY_FILE_RANGE: /* (fd_in, off_in, fd_out, off_out, len, flags): in fd_out */
		fd = regs->dx;
		break;
	case NR_CONNECT:
	case NR_ACCEPT:
	case NR_ACCEPT4:
		if (raw)
			bpf_tail_call(ctx, &sys_exit_tails, TAIL_CONNECT); /* the connect bundle's, when loaded */
		return 0;
	PRIVILEGE_CASES:
		if (raw)
			bpf_tail_call(ctx, &sys_exit_tails, TAIL_PRIVILEGE); /* the privilege bundle's, when loaded */
		return 0;
	default:
		return on_file_op(regs, nr, ret, compat);
	}
	if (ret <= 0)
		return 0;
	if (compat && current_is_ia32(true))
		return 0; /* (the other variant tests it inside on_write, on the task pointer it has) */
	return on_write(ret, fd, compat);
}

/* The bundle's syscall program: attached to the exit tracepoint of each of its syscalls (the write family,
 * the hot path, then opens, unlinks, renames and chmods: FILEWRITE_SYSCALLS in src/bundles/filewrite.ts;
 * this section names the first), so no other syscall runs it (syscall.bpf.h). */
SEC("tracepoint/syscalls/sys_exit_write")
int filewrite_exit(struct syscall_exit_ctx *ctx)
{
	struct pt_regs *regs = syscall_regs();
	if (!regs)
		return 0;
	return on_syscall(ctx, regs, ctx->nr, ctx->ret, false, false);
}

/* Compat kernels (no bpf_get_current_task_btf, bpf_task_pt_regs or bpf_rdonly_cast: 5.10, 6.1): all of
 * the above in one program on the raw sys_exit tracepoint, told apart by syscall number and read with
 * probe reads (common.bpf.h, program variants); it hands connect/accept/accept4 to the connect bundle
 * and the privilege bundle's syscalls to that bundle by tail call. */
SEC("?tp_btf/sys_exit")
int BPF_PROG(filewrite_sys_exit_compat, struct pt_regs *regs, long ret)
{
	return on_syscall(ctx, regs, regs->orig_ax, ret, true, true);
}
