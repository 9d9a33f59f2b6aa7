/* Kernel-side path resolution: a bounded dentry walk (bpf_d_path is not allowed from tracepoints). */
#ifndef SEALTRACE_PATH_BPF_H
#define SEALTRACE_PATH_BPF_H

#include "common.bpf.h"

#define ST_NAME_MASK 255
#define ST_PATH_MASK (ST_PATH_MAX - 1)

/* Scratch space for one walk: components are written backwards, ending at ST_PATH_MAX. */
struct path_scratch {
	char buf[ST_PATH_MAX * 2];
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

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 pos;
	__u16 flags;
	__u16 done;
};

/* One step of the walk (a bpf_loop callback, so the verifier checks it once, not once per level). */
static long path_step(__u32 i, struct path_walk *w)
{
	struct path_scratch *s = path_scratch_get();
	if (!s)
		return 1;
	/* Locals, not w->..., inside BPF_CORE_READ: path_walk is ours, not a kernel type to relocate. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != mnt_root || mnt == mnt_parent || !mnt_parent) {
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = (void *)mnt_parent + bpf_core_field_offset(struct mount, mnt);
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
	w->dentry = parent;
	return 0;
}

/* Walks from (dentry, vfsmnt) up to the root, crossing mounts. The path ends at s->buf[ST_PATH_MAX];
 * returns its start offset (ST_PATH_MAX - length), and sets ST_PATH_TRUNC in *flags when the walk hit
 * its depth or length limit before the root. */
static __always_inline __u32 resolve_path(struct path_scratch *s, struct dentry *dentry, struct vfsmount *vfsmnt, __u16 *flags)
{
	struct path_walk w = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
		.pos = ST_PATH_MAX,
	};
	bpf_loop(ST_PATH_MAX_DEPTH, path_step, &w, 0);
	*flags |= w.flags;
	if (!w.done)
		*flags |= ST_PATH_TRUNC;
	__u32 pos = w.pos;
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
