/* Kernel-side path resolution: a bounded dentry walk (bpf_d_path is not allowed from tracepoints). */
#ifndef SEALTRACE_PATH_BPF_H
#define SEALTRACE_PATH_BPF_H

#include "common.bpf.h"

#define ST_NAME_MASK 255
#define ST_PATH_MASK (ST_PATH_MAX - 1)

struct path_walk {
	__u64 dentry; /* struct dentry * */
	__u64 vfsmnt; /* struct vfsmount * */
	__u64 mnt;    /* struct mount * */
	__u32 pos;
	__u16 flags;
	__u16 done;
};

/* Scratch space for one walk: components are written backwards, ending at ST_PATH_MAX; the walk's
 * state lives beside them, so the step function needs no pointer argument. */
struct path_scratch {
	char buf[ST_PATH_MAX * 2];
	struct path_walk w;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

static __always_inline struct path_scratch *path_scratch_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&path_scratch, &zero);
}

/* One step of the walk; 1 when it is over. A global function: the verifier checks it once, on its
 * own, and the caller's loop stays a few instructions per level. Not a bpf_loop callback: a callback
 * is a subprog reached by a BPF_PSEUDO_FUNC ld_imm64 (commit 69c087ba6225, "bpf: Add
 * bpf_for_each_map_elem() helper", 5.13), which a 5.10 verifier does not count as one ("number of
 * funcs in func_info doesn't match number of subprogs"); bpf_loop itself is 5.17 (e6f2dd0f8067). */
__noinline int path_step(void)
{
	struct path_scratch *s = path_scratch_get();
	if (!s)
		return 1;
	struct path_walk *w = &s->w;
	struct dentry *dentry = (void *)w->dentry;
	struct vfsmount *vfsmnt = (void *)w->vfsmnt;
	struct mount *mnt = (void *)w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != mnt_root || mnt == mnt_parent || !mnt_parent) {
			w->done = 1;
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)mnt_parent;
		w->vfsmnt = (__u64)mnt_parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 len = name.len & ST_NAME_MASK;
	__u32 pos = w->pos;
	if (len + 1 >= pos) {
		w->flags |= ST_PATH_TRUNC;
		return 1;
	}
	pos -= len + 1;
	bpf_probe_read_kernel(&s->buf[(pos & ST_PATH_MASK) + 1], len, name.name);
	s->buf[pos & ST_PATH_MASK] = '/';
	w->pos = pos;
	w->dentry = (__u64)parent;
	return 0;
}

/* Walks from (dentry, vfsmnt) up to the root, crossing mounts. The path ends at s->buf[ST_PATH_MAX];
 * returns its start offset (ST_PATH_MAX - length), and sets ST_PATH_TRUNC in *flags when the walk hit
 * its depth or length limit before the root. */
static __always_inline __u32 resolve_path(struct path_scratch *s, struct dentry *dentry, struct vfsmount *vfsmnt, __u16 *flags)
{
	s->w.dentry = (__u64)dentry;
	s->w.vfsmnt = (__u64)vfsmnt;
	s->w.mnt = (__u64)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	s->w.pos = ST_PATH_MAX;
	s->w.flags = 0;
	s->w.done = 0;
	for (int i = 0; i < ST_PATH_MAX_DEPTH; i++)
		if (path_step())
			break;
	*flags |= s->w.flags;
	if (!s->w.done)
		*flags |= ST_PATH_TRUNC;
	__u32 pos = s->w.pos;
	if (pos >= ST_PATH_MAX) { /* the root itself */
		pos = ST_PATH_MAX - 1;
		s->buf[pos & ST_PATH_MASK] = '/';
	}
	return pos;
}

/* Copies the resolved path (s->buf[start..ST_PATH_MAX)) to dst, at most `cap` bytes (cap a power of two).
 * Returns the bytes copied and flags truncation. */
static __always_inline __u32 copy_path(char *dst, __u32 cap, struct path_scratch *s, __u32 start, __u16 *flags)
{
	__u32 len = ST_PATH_MAX - start;
	if (len > cap - 1) {
		start = ST_PATH_MAX - (cap - 1); /* keep the tail: the file name matters most */
		len = cap - 1;
		*flags |= ST_PATH_TRUNC;
	}
	bpf_probe_read_kernel(dst, len & (cap - 1), &s->buf[start & ST_PATH_MASK]);
	return len & (cap - 1);
}

#endif
