/* Every kernel->user record sealtrace emits: the one contract between bpf/ and src/.
 * Its constants are enums, so they reach BTF: src/events/layouts.ts is checked against the BTF of the compiled
 * objects, structs and enums alike, by test/unit/kernel-contract.test.ts.
 * Fixed-width types only, explicit padding, sizes asserted. Variable data (paths, argv) follows the
 * fixed part of a record; its lengths are fields of the fixed part. */
#ifndef SEALTRACE_EVENTS_H
#define SEALTRACE_EVENTS_H

#ifndef __KERNEL_TYPES_DEFINED
#include <linux/types.h>
#endif

#define ST_COMM_LEN 16
#define ST_ADDR_LEN 16 /* IPv4 in the first 4 bytes, or IPv6 */

/* Record types. Values are part of the session format: never renumber, only add. */
enum st_ev {
	ST_EV_FORK = 1,
	ST_EV_EXEC = 2,
	ST_EV_EXIT = 3,
	ST_EV_TASK = 4,          /* start-of-recording process snapshot (task iterator) */
	ST_EV_CONNECT = 10,
	ST_EV_SOCK_STATE = 11,
	ST_EV_SOCK = 12,         /* start-of-recording TCP socket snapshot */
	ST_EV_ACCEPT = 13,       /* accept(2)/accept4(2) returned a socket: st_connect layout */
	ST_EV_RETRANSMIT = 20,
	ST_EV_SEND_RESET = 21,
	ST_EV_RECV_RESET = 22,
	ST_EV_FILE_OPEN = 30,    /* first write through an opened file: path and flags */
	ST_EV_FILE_WRITE = 31,   /* aggregate flushed out of the write map (eviction or map full) */
	ST_EV_UNLINK = 32,
	ST_EV_RENAME = 33,
	ST_EV_CHMOD = 34,
	ST_EV_PRIV = 40,         /* privilege bundle: one privilege-relevant syscall returned (st_priv) */
	ST_EV_RING_TEST = 100,   /* test-only: ring stress records */
};

/* Header flags (st_hdr.flags). */
enum st_hdr_flag {
	ST_HF_OWNER_FROM_SOCK = 0x1, /* identity is the socket's owner (event fired in softirq/kernel context) */
	ST_HF_OWNER_UNKNOWN = 0x2,   /* no owner known for this socket: identity fields are zero */
};

/* Common header of every record. `start_ns` is the thread-group leader's start_boottime:
 * with tgid it identifies a process across pid reuse. Times are CLOCK_BOOTTIME ns. */
struct st_hdr {
	__u16 type;
	__u16 flags;
	__u32 cpu;
	__u64 ts_ns;
	__u32 tgid;
	__u32 pid;
	__u64 start_ns;
	__u32 ppid;
	__u32 uid;
	__u64 cgroup_id;
	char comm[ST_COMM_LEN];
};
_Static_assert(sizeof(struct st_hdr) == 64, "st_hdr size");

/* fork: hdr is the parent; child identity follows. Only new thread groups (processes), not threads. */
struct st_fork {
	struct st_hdr hdr;
	__u32 child_tgid;
	__u32 clone_flags_lo; /* reserved: 0 */
	__u64 child_start_ns;
};
_Static_assert(sizeof(struct st_fork) == 80, "st_fork size");

/* st_exec.trunc and st_task.trunc. */
enum st_exec_trunc {
	ST_EXEC_ARGV_TRUNC = 0x1,  /* argv did not fit: args_len is the true length */
	ST_EXEC_FILE_TRUNC = 0x2,
	ST_EXEC_CWD_TRUNC = 0x4,   /* cwd deeper or longer than the walk's limits */
	ST_EXEC_CWD_UNREAD = 0x8,
	/* st_task: argv not read by the kernel (no bpf_copy_from_user_task, 5.18) but by the recorder,
	 * from /proc/<pid>/cmdline, right after the snapshot (src/recorder/procargv.ts) */
	ST_EXEC_ARGV_PROC = 0x10,
};

/* exec: followed by filename (filename_len bytes, no NUL), argv (argv_len bytes, NUL-separated
 * as in the process's memory) and cwd (cwd_len bytes). */
struct st_exec {
	struct st_hdr hdr;
	__u32 old_pid;   /* the pid that called execve (a non-leader thread's exec changes pid) */
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 argc;      /* from the new mm: the true argument count */
	__u32 args_len;  /* true length of the argument area in bytes */
	__u16 filename_len;
	__u16 argv_len;  /* bytes of argv captured */
	__u16 cwd_len;
	__u16 trunc;     /* ST_EXEC_* */
	/* The executed file (bprm->file), as the kernel saw it at exec: what the recorder's hasher keys on
	 * (dev, ino, ctime) and checks before it reads the file. */
	__u64 exe_dev;      /* the kernel's s_dev: major << 20 | minor */
	__u64 exe_ino;
	__u64 exe_size;
	__u64 exe_mtime_ns; /* since the epoch (a pre-1970 time wraps) */
	__u64 exe_ctime_ns;
	__u32 exe_nlink;
	__u16 exe_mode;     /* i_mode: type and permission bits (setuid, setgid) */
	__u16 exe_flags;    /* ST_EXE_* */
};
_Static_assert(sizeof(struct st_exec) == 144, "st_exec size");

/* st_exec.exe_flags */
enum st_exe_flag {
	ST_EXE_DELETED = 0x1,            /* no link left when executed (nlink 0), and not fileless */
	ST_EXE_FILELESS = 0x2,           /* never linked: a memfd (memfd_create) or an O_TMPFILE */
	ST_EXE_WORLD_WRITABLE_DIR = 0x4, /* its directory is world-writable (/tmp, /dev/shm, /var/tmp, ...) */
	ST_EXE_UNREAD = 0x8,             /* no file or inode to read: identity fields are zero */
};

/* Capture limits of st_exec's variable part (the recorder keeps ST_EXEC_MAX_ARGV for argv from /proc too). */
enum st_exec_max {
	ST_EXEC_MAX_FILENAME = 512,
	ST_EXEC_MAX_ARGV = 8192,
	ST_EXEC_MAX_CWD = 1024,
};

/* exit of a thread-group leader. */
struct st_exit {
	struct st_hdr hdr;
	__s32 exit_code; /* (status << 8) | signal, as wait(2) encodes it */
	__u32 nr_threads_pad;
	__u64 exit_ns;
};
_Static_assert(sizeof(struct st_exit) == 80, "st_exit size");

/* Start-of-recording snapshot of one process, from the task iterator. Followed by exe path
 * (exe_len) and argv (argv_len bytes, NUL-separated). */
struct st_task {
	struct st_hdr hdr; /* hdr.ts_ns is the snapshot time */
	__u32 argc_pad;
	__u32 args_len;
	__u16 exe_len;
	__u16 argv_len;
	__u16 trunc;
	__u16 pad;
};
_Static_assert(sizeof(struct st_task) == 80, "st_task size");

/* connect(2) completed (sys_exit). Socket addresses in network byte order, ports in host order. */
struct st_connect {
	struct st_hdr hdr;
	__u64 sock_id;   /* kernel address of struct sock: joins state changes to this connect */
	__u64 enter_ns;  /* when connect was called; hdr.ts_ns is when it returned */
	__s32 ret;       /* 0 or -errno (-EINPROGRESS for non-blocking) */
	__s32 fd;
	__u16 family;    /* AF_INET / AF_INET6 */
	__u16 sock_type; /* SOCK_STREAM / SOCK_DGRAM */
	__u16 protocol;  /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 sport;
	__u16 dport;
	__u16 pad[3];
	__u8 saddr[ST_ADDR_LEN];
	__u8 daddr[ST_ADDR_LEN];
};
_Static_assert(sizeof(struct st_connect) == 136, "st_connect size");

/* TCP state change (sock:inet_sock_set_state) and the socket snapshot share this layout.
 * Identity: the process that owns the socket (socket map), or current for process-context changes. */
struct st_sock_state {
	struct st_hdr hdr;
	__u64 sock_id;
	__s32 oldstate;
	__s32 newstate;
	__u16 family;
	__u16 protocol;
	__u16 sport;
	__u16 dport;
	__u8 saddr[ST_ADDR_LEN];
	__u8 daddr[ST_ADDR_LEN];
	__s32 sk_err;    /* the socket's pending error (sk->sk_err): on a change to CLOSE it says why a
	                  * connect failed (ECONNREFUSED, ETIMEDOUT, ...) whatever other bundle runs; 0 in the snapshot */
	__u32 pad;
};
_Static_assert(sizeof(struct st_sock_state) == 128, "st_sock_state size");

/* tcp:tcp_retransmit_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset. */
struct st_tcp_event {
	struct st_hdr hdr;
	__u64 sock_id;   /* 0 for a reset sent with no socket (e.g. a SYN to a closed port) */
	__s32 state;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 segs;      /* retransmit: segments in the skb (tcp_skb_pcount), what TcpRetransSegs adds */
	__u16 reason;    /* send reset: enum sk_rst_reason (v6.10+), else 0 */
	__u16 err;       /* retransmit: errno of a failed retransmit (v6.13+), else 0 */
	__u8 saddr[ST_ADDR_LEN];
	__u8 daddr[ST_ADDR_LEN];
};
_Static_assert(sizeof(struct st_tcp_event) == 120, "st_tcp_event size");

/* path_flags of st_file_open and st_file_op. */
enum st_path_flag {
	ST_PATH_TRUNC = 0x1,       /* deeper than ST_PATH_MAX_DEPTH or longer than the buffer */
	ST_PATH_OPEN_SEEN = 0x2,   /* st_file_open: the open(2) was seen, so O_CREAT/O_EXCL/O_TRUNC are known */
	ST_PATH_BASE_UNREAD = 0x4, /* st_file_op: relative path whose dirfd could not be resolved */
};
#define ST_PATH_MAX 4096
#define ST_PATH_MAX_DEPTH 48

/* First write through (process, dev, ino): followed by the path (path_len bytes). */
struct st_file_open {
	struct st_hdr hdr;
	__u64 dev;
	__u64 ino;
	__u32 open_flags;
	__u32 mode;
	__u16 path_len;
	__u16 path_flags;
	__u32 pad;
};
_Static_assert(sizeof(struct st_file_open) == 96, "st_file_open size");

/* Write totals for one key, flushed to the ring when they could not stay in the map. */
struct st_file_write {
	struct st_hdr hdr;
	__u64 dev;
	__u64 ino;
	__u64 bytes;
	__u64 calls;
	__u64 first_ns;
	__u64 last_ns;
};
_Static_assert(sizeof(struct st_file_write) == 112, "st_file_write size");

/* unlink/rename/chmod: followed by path (path_len) and, for rename, the new path (path2_len). */
struct st_file_op {
	struct st_hdr hdr;
	__s32 ret;
	__u32 mode;       /* chmod: the new mode */
	__u16 path_len;
	__u16 path2_len;
	__u16 path_flags;
	__u16 pad;
};
_Static_assert(sizeof(struct st_file_op) == 80, "st_file_op size");

/* st_priv.op: which syscall (stable numbers, not the architecture's). */
enum st_priv_op {
	ST_PRIV_OP_SETUID = 1,
	ST_PRIV_OP_SETGID = 2,
	ST_PRIV_OP_SETREUID = 3,
	ST_PRIV_OP_SETREGID = 4,
	ST_PRIV_OP_SETRESUID = 5,
	ST_PRIV_OP_SETRESGID = 6,
	ST_PRIV_OP_SETFSUID = 7,
	ST_PRIV_OP_SETFSGID = 8,
	ST_PRIV_OP_CAPSET = 9,
	ST_PRIV_OP_PTRACE = 10,
	ST_PRIV_OP_INIT_MODULE = 11,
	ST_PRIV_OP_FINIT_MODULE = 12,
	ST_PRIV_OP_DELETE_MODULE = 13,
	ST_PRIV_OP_BPF = 14,
	ST_PRIV_OP_MOUNT = 15,
	ST_PRIV_OP_UMOUNT = 16,
	ST_PRIV_OP_PIVOT_ROOT = 17,
	ST_PRIV_OP_UNSHARE = 18,
	ST_PRIV_OP_SETNS = 19,
	ST_PRIV_OP_MEMFD_CREATE = 20,
	ST_PRIV_OP_PRCTL_SET_NAME = 21,
	ST_PRIV_OP_KILL = 22,
	ST_PRIV_OP_TGKILL = 23,
	ST_PRIV_OP_PIDFD_SEND_SIGNAL = 24,
};

/* st_priv.pflags */
enum st_priv_flag {
	ST_PRIV_OLD_CRED = 0x1,  /* old_*: the credentials before the call (a cred-changing syscall) */
	ST_PRIV_STR_TRUNC = 0x2, /* a string did not fit its ST_PRIV_STR_MAX bytes */
	ST_PRIV_OLD_COMM = 0x4,  /* aux_comm: the name before prctl(PR_SET_NAME) */
	ST_PRIV_READ_FAIL = 0x8, /* a string argument could not be read from the caller's memory */
};

enum st_priv_max {
	ST_PRIV_STR_MAX = 256, /* bytes kept of each string argument (path, name) */
};

/* A privilege-relevant syscall returned (privilege bundle), failed calls included. Followed by up to
 * three strings (str1_len, str2_len, str3_len bytes, no NULs) whose meaning depends on `op`
 * (docs/EVENTS.md): e.g. mount's source, target and fstype. Credentials are the task's (real_cred)
 * after the call; old_* before it, where ST_PRIV_OLD_CRED says they were stashed at sys_enter. */
struct st_priv {
	struct st_hdr hdr;
	__s32 ret;        /* the syscall's result: >= 0, or -errno */
	__s32 target;     /* kill/tgkill: pid as called; pidfd_send_signal: the pidfd's pid; ptrace: pid */
	__u64 arg0;       /* the numeric arguments as called (registers di, si, dx, r10) */
	__u64 arg1;
	__u64 arg2;
	__u64 arg3;
	__u32 new_uid;
	__u32 new_euid;
	__u32 new_suid;
	__u32 new_fsuid;
	__u32 new_gid;
	__u32 new_egid;
	__u32 new_sgid;
	__u32 new_fsgid;
	__u64 new_cap_eff;
	__u64 new_cap_perm;
	__u32 old_uid;
	__u32 old_euid;
	__u32 old_suid;
	__u32 old_fsuid;
	__u32 old_gid;
	__u32 old_egid;
	__u32 old_sgid;
	__u32 old_fsgid;
	__u64 old_cap_eff;
	__u64 old_cap_perm;
	__u32 aux;        /* bpf: the program or map type; setns: the inode number of the fd's file (the namespace) */
	__u16 op;         /* ST_PRIV_OP_* */
	__u16 pflags;     /* ST_PRIV_* */
	__u16 str1_len;
	__u16 str2_len;
	__u16 str3_len;
	__u16 pad;
	char aux_comm[ST_COMM_LEN]; /* prctl(PR_SET_NAME): the old name (ST_PRIV_OLD_COMM) */
};
_Static_assert(sizeof(struct st_priv) == 232, "st_priv size");

/* Aggregation map key and value for file writes (bundle filewrite, map `write_totals`). */
struct st_write_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
	__u64 dev;
	__u64 ino;
};
struct st_write_val {
	__u64 bytes;
	__u64 calls;
	__u64 first_ns;
	__u64 last_ns;
};

/* Per-flow retransmit/reset counters (bundle retransmit, map `flow_counters`). */
struct st_flow_key {
	__u8 saddr[ST_ADDR_LEN];
	__u8 daddr[ST_ADDR_LEN];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
};
struct st_flow_val {
	__u64 retransmits;
	__u64 send_resets;
	__u64 recv_resets;
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
};

/* Owner of a socket, recorded at connect/accept (map `sock_owners`, key: sock address). */
struct st_owner {
	__u32 tgid;
	__u32 pid;
	__u64 start_ns;
	__u32 ppid;
	__u32 uid;
	__u64 cgroup_id;
	char comm[ST_COMM_LEN];
	__u64 syn_ns;    /* when this owner's connect sent the SYN (SYN_SENT), else 0 */
};

/* Loss counters: one per-CPU array `losses` per bundle of ST_LOSS_MAX slots, indexed by these. */
enum st_loss {
	ST_LOSS_RING_FULL = 0, /* bpf_ringbuf_reserve/output failed */
	ST_LOSS_MAP_FULL = 1,  /* an aggregation or tracking map was full */
	ST_LOSS_READ_FAIL = 2, /* a probe read failed (data in the record may be partial) */
	ST_LOSS_MAX = 4,
};

/* Test-only ring stress record. */
struct st_ring_test {
	__u64 seq;
	__u64 cpu_seq;
	__u32 cpu;
	__u32 pad;
	__u8 payload[40];
};
_Static_assert(sizeof(struct st_ring_test) == 64, "st_ring_test size");

/* clang writes an enum into BTF only when a type it writes refers to it: common.bpf.h declares one
 * (unused) pointer to this struct in every object, so the enums above reach every object's BTF. */
struct st_enums {
	enum st_ev ev;
	enum st_hdr_flag hdr_flag;
	enum st_exec_trunc exec_trunc;
	enum st_exec_max exec_max;
	enum st_exe_flag exe_flag;
	enum st_path_flag path_flag;
	enum st_loss loss;
	enum st_priv_op priv_op;
	enum st_priv_flag priv_flag;
	enum st_priv_max priv_max;
};

#endif
