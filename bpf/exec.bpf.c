/* exec bundle: process fork, exec (filename, argv, cwd, credentials) and exit, plus the
 * start-of-recording task snapshot. Extends `followed` on fork so a target's descendants are traced. */
#include "path.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} events SEC(".maps");

#define EXEC_DATA_MAX (ST_EXEC_MAX_FILENAME + 2 * ST_EXEC_MAX_ARGV + ST_EXEC_MAX_CWD)

struct exec_scratch {
	struct st_exec ev;
	char data[EXEC_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* Processes whose exit record is out, keyed by identity (tgid, leader start time). `signal->live`
 * alone cannot pick the last thread: two threads exiting together both decrement it before either
 * reaches the tracepoint, so both can read 0. The first to insert here emits; the other finds the
 * key. Entries are never needed after that instant, so an LRU of a few thousand suffices. */
struct exit_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_key);
	__type(value, __u8);
} exited SEC(".maps");

/* Make the record types visible in this object's BTF for the layout check. */
struct st_fork *unused_fork __attribute__((unused));
struct st_exit *unused_exit __attribute__((unused));
struct st_task *unused_task __attribute__((unused));

/* The argument area of `mm`: its start, its true length in *args_len, and how many bytes to copy
 * (at most ST_EXEC_MAX_ARGV; ST_EXEC_ARGV_TRUNC in *trunc when that cuts it). */
static __always_inline __u32 argv_extent(struct mm_struct *mm, unsigned long *start, __u32 *args_len, __u16 *trunc)
{
	unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
	__u32 len = arg_end > arg_start ? arg_end - arg_start : 0;
	*start = arg_start;
	*args_len = len;
	if (len > ST_EXEC_MAX_ARGV) {
		len = ST_EXEC_MAX_ARGV;
		*trunc |= ST_EXEC_ARGV_TRUNC;
	}
	return len & (2 * ST_EXEC_MAX_ARGV - 1);
}

/* struct inode's times before 6.11, as CO-RE flavours: the running kernel's BTF has one of them.
 * - up to 6.5: i_mtime, i_ctime (struct timespec64);
 * - 6.6: i_ctime became __i_ctime (9b6304c1d537, "fs: add ctime accessors infrastructure");
 * - 6.7 to 6.10: i_mtime became __i_mtime (12cd44023651, "fs: rename i_atime and i_mtime fields to
 *   __i_atime and __i_mtime");
 * - 6.11+: the discrete integers of struct inode in vmlinux_min.h. */
struct inode___ts64 {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ts67 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

/* 6.13's multigrain timestamps keep a flag in i_ctime_nsec's top bit (I_CTIME_QUERIED, 4e40eff0b573). */
#define NSEC_MASK 0x3fffffff

static __always_inline __u64 ts_ns(__s64 sec, __u32 nsec)
{
	return (__u64)sec * 1000000000ULL + (nsec & NSEC_MASK);
}

static __always_inline void inode_times(struct inode *ino, __u64 *mtime_ns, __u64 *ctime_ns)
{
	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		*mtime_ns = ts_ns(BPF_CORE_READ(ino, i_mtime_sec), BPF_CORE_READ(ino, i_mtime_nsec));
		*ctime_ns = ts_ns(BPF_CORE_READ(ino, i_ctime_sec), BPF_CORE_READ(ino, i_ctime_nsec));
		return;
	}
	struct inode___ts67 *i67 = (void *)ino;
	if (bpf_core_field_exists(i67->__i_mtime)) {
		*mtime_ns = ts_ns(BPF_CORE_READ(i67, __i_mtime.tv_sec), BPF_CORE_READ(i67, __i_mtime.tv_nsec));
		*ctime_ns = ts_ns(BPF_CORE_READ(i67, __i_ctime.tv_sec), BPF_CORE_READ(i67, __i_ctime.tv_nsec));
		return;
	}
	struct inode___ts64 *i64 = (void *)ino;
	*mtime_ns = ts_ns(BPF_CORE_READ(i64, i_mtime.tv_sec), BPF_CORE_READ(i64, i_mtime.tv_nsec));
	struct inode___ctime66 *i66 = (void *)ino;
	if (bpf_core_field_exists(i66->__i_ctime))
		*ctime_ns = ts_ns(BPF_CORE_READ(i66, __i_ctime.tv_sec), BPF_CORE_READ(i66, __i_ctime.tv_nsec));
	else
		*ctime_ns = ts_ns(BPF_CORE_READ(i64, i_ctime.tv_sec), BPF_CORE_READ(i64, i_ctime.tv_nsec));
}

/* An O_TMPFILE's dentry is named "#<inode number>" by d_tmpfile() and never hashed into a directory. */
static __always_inline bool tmpfile_name(struct dentry *d, __u64 ino)
{
	char name[24];
	if (bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name)) < 3 || name[0] != '#')
		return false;
	__u64 n = 0;
	int i;
	for (i = 1; i < (int)sizeof(name); i++) {
		char c = name[i];
		if (c < '0' || c > '9')
			break;
		n = n * 10 + (c - '0');
	}
	return i < (int)sizeof(name) && name[i] == 0 && n == ino;
}

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IWOTH 0002

/* The executed file's identity and the flags a responder looks at first (st_exec.exe_*). */
static __always_inline void exe_identity(struct st_exec *e, struct linux_binprm *bprm)
{
	struct file *f = BPF_CORE_READ(bprm, file);
	struct inode *ino = f ? BPF_CORE_READ(f, f_inode) : 0;
	e->exe_mtime_ns = 0;
	e->exe_ctime_ns = 0;
	if (!ino) {
		e->exe_dev = e->exe_ino = e->exe_size = 0;
		e->exe_nlink = 0;
		e->exe_mode = 0;
		e->exe_flags = ST_EXE_UNREAD;
		return;
	}
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	e->exe_size = BPF_CORE_READ(ino, i_size);
	e->exe_nlink = BPF_CORE_READ(ino, i_nlink);
	e->exe_mode = BPF_CORE_READ(ino, i_mode);
	inode_times(ino, &e->exe_mtime_ns, &e->exe_ctime_ns);

	__u16 flags = 0;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	/* A memfd's dentry is a pseudo one (alloc_file_pseudo): its own parent, yet not its mount's root. */
	bool pseudo = parent == d && d != BPF_CORE_READ(f, f_path.mnt, mnt_root);
	if (e->exe_nlink == 0) {
		if (pseudo || tmpfile_name(d, e->exe_ino))
			flags |= ST_EXE_FILELESS;
		else
			flags |= ST_EXE_DELETED;
	}
	if (parent && parent != d) {
		umode_t dm = BPF_CORE_READ(parent, d_inode, i_mode);
		if ((dm & S_IFMT) == S_IFDIR && (dm & S_IWOTH))
			flags |= ST_EXE_WORLD_WRITABLE_DIR;
	}
	e->exe_flags = flags;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(exec_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != child_tgid)
		return 0; /* a new thread, not a new process */
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	if (parent_tgid == cfg_self_tgid)
		return 0;
	if (cfg_follow) {
		if (!bpf_map_lookup_elem(&followed, &parent_tgid))
			return 0;
		__u8 one = 1;
		if (bpf_map_update_elem(&followed, &child_tgid, &one, BPF_ANY))
			count_loss(ST_LOSS_MAP_FULL);
	}
	if (!current_wanted())
		return 0;
	struct st_fork *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
		return 0;
	}
	fill_hdr(&e->hdr, ST_EV_FORK);
	e->child_tgid = child_tgid;
	e->clone_flags_lo = 0;
	e->child_start_ns = BPF_CORE_READ(child, start_boottime);
	bpf_ringbuf_submit(e, RB_FLAGS);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!current_wanted())
		return 0;
	__u32 zero = 0;
	struct exec_scratch *s = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!s)
		return 0;
	struct st_exec *e = &s->ev;
	fill_hdr(&e->hdr, ST_EV_EXEC);
	const struct cred *cred = BPF_CORE_READ(p, real_cred);
	e->old_pid = old_pid;
	e->gid = BPF_CORE_READ(cred, gid.val);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->egid = BPF_CORE_READ(cred, egid.val);
	e->argc = BPF_CORE_READ(bprm, argc);
	e->trunc = 0;
	exe_identity(e, bprm);

	/* filename, as given to execve (relative names stay relative: cwd follows) */
	long n = bpf_probe_read_kernel_str(s->data, ST_EXEC_MAX_FILENAME, BPF_CORE_READ(bprm, filename));
	__u32 fn_len = n > 0 ? n - 1 : 0;
	if (n == ST_EXEC_MAX_FILENAME)
		e->trunc |= ST_EXEC_FILE_TRUNC;
	fn_len &= ST_EXEC_MAX_FILENAME - 1;
	e->filename_len = fn_len;

	/* argv: the new image's argument area, NUL-separated */
	unsigned long arg_start;
	__u32 args_len;
	__u16 trunc = e->trunc;
	__u32 cap = argv_extent(BPF_CORE_READ(p, mm), &arg_start, &args_len, &trunc);
	e->trunc = trunc;
	e->args_len = args_len;
	if (cap && bpf_probe_read_user(&s->data[fn_len], cap, (void *)arg_start)) {
		count_loss(ST_LOSS_READ_FAIL);
		cap = 0;
		e->trunc |= ST_EXEC_ARGV_TRUNC;
	}
	e->argv_len = cap;

	/* cwd: a bounded dentry walk of fs->pwd */
	__u32 cwd_len = 0;
	struct path_scratch *ps = path_scratch_get();
	if (ps) {
		struct fs_struct *fs = BPF_CORE_READ(p, fs);
		__u16 pflags = 0;
		__u32 start = resolve_path(ps, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), &pflags);
		__u32 off = fn_len + cap; /* both masked above: off + ST_EXEC_MAX_CWD fits in data */
		cwd_len = copy_path(&s->data[off], ST_EXEC_MAX_CWD, ps, start, &pflags);
		if (pflags & ST_PATH_TRUNC)
			e->trunc |= ST_EXEC_CWD_TRUNC;
	} else {
		e->trunc |= ST_EXEC_CWD_UNREAD;
	}
	e->cwd_len = cwd_len;

	__u64 size = sizeof(*e) + fn_len + cap + cwd_len;
	if (size > sizeof(*s))
		size = sizeof(*s);
	if (bpf_ringbuf_output(&events, s, size, RB_FLAGS))
		count_loss(ST_LOSS_RING_FULL);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exec_exit, struct task_struct *p)
{
	/* Only the last thread of a group: that is when the process is gone. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	__u32 tgid = BPF_CORE_READ(p, tgid);
	if (cfg_follow && !bpf_map_lookup_elem(&followed, &tgid))
		return 0;
	if (!current_wanted())
		return 0;
	struct exit_key k = { .tgid = tgid, .start_ns = BPF_CORE_READ(p, group_leader, start_boottime) };
	__u8 one = 1;
	long err = bpf_map_update_elem(&exited, &k, &one, BPF_NOEXIST);
	if (err == -17 /* EEXIST: the other thread's record is out */)
		return 0;
	if (err) /* no LRU node to spare: emit anyway (a duplicate at worst, never a gap), and count it */
		count_loss(ST_LOSS_MAP_FULL);
	struct st_exit *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(ST_LOSS_RING_FULL);
	} else {
		fill_hdr(&e->hdr, ST_EV_EXIT);
		e->exit_code = BPF_CORE_READ(p, exit_code);
		e->nr_threads_pad = 0;
		e->exit_ns = e->hdr.ts_ns;
		bpf_ringbuf_submit(e, RB_FLAGS);
	}
	if (cfg_follow)
		bpf_map_delete_elem(&followed, &tgid);
	return 0;
}

/* Start-of-recording snapshot: one st_task per process (thread-group leaders), written to the seq file. */
struct task_iter_scratch {
	struct st_task ev;
	char data[ST_PATH_MAX + ST_EXEC_MAX_ARGV * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_iter_scratch);
} task_scratch SEC(".maps");

static __always_inline int snapshot_task(struct bpf_iter__task *ctx, const bool compat)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	if (BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
		return 0;
	__u32 zero = 0;
	struct task_iter_scratch *s = bpf_map_lookup_elem(&task_scratch, &zero);
	if (!s)
		return 0;
	struct st_task *e = &s->ev;
	fill_hdr_task(&e->hdr, ST_EV_TASK, t);
	e->argc_pad = 0;
	e->trunc = 0;
	e->pad = 0;
	e->exe_len = 0;
	e->argv_len = 0;
	e->args_len = 0;

	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if (mm) { /* kernel threads have no mm, exe or argv */
		struct path_scratch *ps = path_scratch_get();
		struct file *exe = BPF_CORE_READ(mm, exe_file);
		__u32 exe_len = 0;
		if (ps && exe) {
			__u16 pflags = 0;
			__u32 start = resolve_path(ps, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt), &pflags);
			exe_len = copy_path(s->data, ST_PATH_MAX, ps, start, &pflags);
			if (pflags & ST_PATH_TRUNC)
				e->trunc |= ST_EXEC_FILE_TRUNC;
		}
		exe_len &= ST_PATH_MAX - 1;
		e->exe_len = exe_len;
		unsigned long arg_start;
		__u32 args_len;
		__u16 trunc = e->trunc;
		__u32 cap = argv_extent(mm, &arg_start, &args_len, &trunc);
		e->trunc = trunc;
		e->args_len = args_len;
		/* Another process's memory: bpf_copy_from_user_task, which is why this iterator is sleepable. */
		if (compat)
			e->trunc |= ST_EXEC_ARGV_PROC;
		else if (cap && bpf_copy_from_user_task(&s->data[exe_len], cap, (void *)arg_start, t, 0) == 0)
			e->argv_len = cap;
		else if (cap)
			e->trunc |= ST_EXEC_ARGV_TRUNC;
	}
	__u64 size = sizeof(*e) + e->exe_len + e->argv_len;
	if (size > sizeof(*s))
		size = sizeof(*s);
	/* The same framing as a ring record (u32 length, u32 reserved), so one reader serves both. */
	__u32 framing[2] = { (__u32)size, 0 };
	bpf_seq_write(seq, framing, sizeof(framing));
	bpf_seq_write(seq, s, size);
	__u64 zeros = 0;
	__u32 pad = (8 - (size & 7)) & 7;
	if (pad)
		bpf_seq_write(seq, &zeros, pad & 7);
	return 0;
}

SEC("iter.s/task")
int exec_snapshot(struct bpf_iter__task *ctx)
{
	return snapshot_task(ctx, false);
}

/* Without bpf_copy_from_user_task (5.18, 376040e47334, "bpf: Add bpf_copy_from_user_task() helper")
 * nor sleepable iterators: argv is left to the recorder, which reads /proc (ST_EXEC_ARGV_PROC). */
SEC("?iter/task")
int exec_snapshot_compat(struct bpf_iter__task *ctx)
{
	return snapshot_task(ctx, true);
}
