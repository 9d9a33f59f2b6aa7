// A scripted workload for the privilege bundle (run as root): real setuid transitions, a refused setuid(0),
// a ptrace attach and a peek of a child, a fileless exec (memfd_create + execveat), a rename, an unshare
// with a mount inside it, a setns, SIGSTOP/SIGKILL to children (kill and pidfd_send_signal) and a BPF map
// created. It prints one JSON object of what it did (pids, names, results) for the test to check against.
import { spawn } from "node:child_process";

export const PRIVILEGE_PY = `
import ctypes, json, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
mnt = sys.argv[1]
out = {"pid": os.getpid()}

def sleeper():
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    return pid

# Drop to 65534 keeping saved uid 0, then back to root.
os.setresuid(65534, 65534, 0)
os.setresuid(0, 0, 0)
out["uids"] = list(os.getresuid())

# A refused escalation: a child that gave up root asks for it back.
c = os.fork()
if c == 0:
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    try:
        os.setuid(0)
        os._exit(0)
    except PermissionError:
        os._exit(7)
out["refused"] = c
out["refusedStatus"] = os.waitpid(c, 0)[1] >> 8

# ptrace: attach (recorded), peek (not recorded), detach (not recorded).
t = sleeper()
out["traced"] = t
out["attach"] = libc.ptrace(16, t, None, None)
os.waitpid(t, 0)
libc.ptrace(2, t, None, None)
libc.ptrace(17, t, None, None)

# SIGSTOP then SIGKILL with kill(2); SIGKILL with pidfd_send_signal(2).
os.kill(t, signal.SIGSTOP)
os.kill(t, signal.SIGKILL)
os.waitpid(t, 0)
k = sleeper()
out["pidfdTarget"] = k
pfd = os.pidfd_open(k)
signal.pidfd_send_signal(pfd, signal.SIGKILL)
os.waitpid(k, 0)
os.close(pfd)
os.kill(os.getpid(), 0)  # to itself, and not a kill signal: not recorded

# A fileless exec: memfd_create, a copy of /bin/true in it, execveat(fd, "", AT_EMPTY_PATH).
fd = os.memfd_create("st-fileless", os.MFD_ALLOW_SEALING)
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
m = os.fork()
if m == 0:
    try:
        os.execve(fd, ["st-fileless"], {})  # fexecve: execveat(fd, "", AT_EMPTY_PATH)
    except OSError:
        # The 5.10 guest of the kernel matrix refuses that with ENOENT; the exec through /proc is fileless too.
        os.execve(f"/proc/self/fd/{fd}", ["st-fileless"], {})
out["memfdChild"] = m
out["memfdStatus"] = os.waitpid(m, 0)[1]
os.close(fd)

# A rename (prctl PR_SET_NAME).
out["renamed"] = libc.prctl(15, b"st-renamed", 0, 0, 0)

# A child in new UTS and mount namespaces mounts a tmpfs (private: nothing leaks) and unmounts it.
u = os.fork()
if u == 0:
    if libc.unshare(0x04000000 | 0x00020000) != 0:
        os._exit(2)
    libc.mount(None, b"/", None, 0x4000 | 0x40000, None)  # MS_REC | MS_PRIVATE
    if libc.mount(b"st-tmpfs", mnt.encode(), b"tmpfs", 0, None) != 0:
        os._exit(3)
    if libc.umount2(mnt.encode(), 0) != 0:
        os._exit(4)
    os._exit(0)
out["nsChild"] = u
out["nsStatus"] = os.waitpid(u, 0)[1] >> 8

# setns into its own UTS namespace (allowed, changes nothing).
nfd = os.open("/proc/self/ns/uts", os.O_RDONLY)
out["setns"] = libc.setns(nfd, 0x04000000)
os.close(nfd)

# A BPF map: bpf(BPF_MAP_CREATE) with a name (union bpf_attr: map_name at 28).
attr = ctypes.create_string_buffer(72)
ctypes.memmove(ctypes.addressof(attr), (2).to_bytes(4, "little") + (4).to_bytes(4, "little") + (4).to_bytes(4, "little") + (1).to_bytes(4, "little"), 16)
ctypes.memmove(ctypes.addressof(attr) + 28, b"st_helper_map", 13)
mfd = libc.syscall(321, 0, attr, 72)
out["mapFd"] = mfd
if mfd >= 0:
    os.close(mfd)
# A BPF program: bpf(BPF_PROG_LOAD) of a two-instruction socket filter (r0 = 0; exit), named. Before 5.11
# BPF memory counts against RLIMIT_MEMLOCK: raised first, as any loader does there.
import resource
try:
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
except (ValueError, OSError):  # no CAP_SYS_RESOURCE (a container): up to the hard limit
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))
insns = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
ibuf = ctypes.create_string_buffer(insns, len(insns))
lic = ctypes.create_string_buffer(b"GPL")
pattr = ctypes.create_string_buffer(72)
ctypes.memmove(ctypes.addressof(pattr), (1).to_bytes(4, "little") + (2).to_bytes(4, "little") + ctypes.addressof(ibuf).to_bytes(8, "little") + ctypes.addressof(lic).to_bytes(8, "little"), 24)
ctypes.memmove(ctypes.addressof(pattr) + 48, b"st_helper_prog", 14)
pfd2 = libc.syscall(321, 5, pattr, 72)
out["progFd"] = pfd2
out["progErrno"] = ctypes.get_errno() if pfd2 < 0 else 0
if pfd2 >= 0:
    os.close(pfd2)
print(json.dumps(out), flush=True)
`;

export interface PrivilegeRun {
  pid: number;
  uids: number[];
  refused: number;
  refusedStatus: number;
  traced: number;
  attach: number;
  pidfdTarget: number;
  memfdChild: number;
  memfdStatus: number;
  renamed: number;
  nsChild: number;
  nsStatus: number;
  setns: number;
  mapFd: number;
  progFd: number;
  progErrno: number;
}

/** Runs the helper (as root) with `mountDir` as its tmpfs mount point; resolves with what it did. */
export async function runPrivilegeHelper(mountDir: string): Promise<PrivilegeRun> {
  const child = spawn("/usr/bin/python3", ["-c", PRIVILEGE_PY, mountDir], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`privilege helper exited ${code}`);
  return JSON.parse(out) as PrivilegeRun;
}
