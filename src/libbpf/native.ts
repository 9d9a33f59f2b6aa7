// The only native edge: system libbpf.so.1 (>= 1.1) and a few libc calls, bound with koffi.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import koffi from "koffi";
import type * as Koffi from "koffi";
import { UserError } from "../errors.js";

/** An opaque native pointer (libbpf object, program, map, link, mmap'ed memory). */
export type Ptr = object;

function loadLibrary(name: string, fix: string): Koffi.LibraryHandle {
  try {
    return koffi.load(name);
  } catch (e) {
    throw new UserError(`cannot load ${name}: ${fix} (${(e as Error).message.split("\n")[0]})`, "unsupported");
  }
}

function bind<T>(lib: Koffi.LibraryHandle, libName: string, pkg: string, decl: string): T {
  try {
    return lib.func(decl) as unknown as T;
  } catch {
    const name = /(\w+)\s*\(/.exec(decl)?.[1] ?? decl;
    throw new UserError(
      `${libName} lacks ${name}: install a newer '${pkg}' (libbpf >= 1.1 is required)`,
      "unsupported",
    );
  }
}

koffi.struct("sealtrace_timespec", { tv_sec: "int64_t", tv_nsec: "int64_t" });
const PrintFn = koffi.proto("int sealtrace_libbpf_print_fn(int level, const char *fmt, void *args)");

/**
 * A release tarball carries libbpf.so.1 in lib/, with the libelf and zlib it links to, because an incident
 * host may have no libbpf 1.x (Debian 11 ships only 0.3). Loading the dependencies first by path makes the
 * dynamic linker resolve libbpf's DT_NEEDED entries to them by soname. Without lib/, the system's is used.
 */
function bundledLibDir(): string | undefined {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "lib");
  return existsSync(join(dir, "libbpf.so.1")) ? dir : undefined;
}

let libbpfPath = "libbpf.so.1";
const RELEASE_FIX = "the release's lib/ is damaged: extract the tarball again and check its SHA256SUMS";

/** Which libbpf.so.1 was loaded: the release's bundled copy (its path) or the system's. */
export function libbpfOrigin(): string {
  const lb = libbpf();
  return `${lb.major()}.${lb.minor()}, ${libbpfPath === "libbpf.so.1" ? "system libbpf.so.1" : `bundled ${libbpfPath}`}`;
}

function makeLibbpf() {
  const dir = bundledLibDir();
  if (dir) {
    for (const dep of ["libz.so.1", "libelf.so.1"])
      if (existsSync(join(dir, dep))) loadLibrary(join(dir, dep), RELEASE_FIX);
    libbpfPath = join(dir, "libbpf.so.1");
  }
  const lib = loadLibrary(libbpfPath, dir ? RELEASE_FIX : "install the Debian package 'libbpf1'");
  const f = <T>(decl: string) => bind<T>(lib, "libbpf.so.1", "libbpf1", decl);
  return {
    major: f<() => number>("uint32_t libbpf_major_version(void)"),
    minor: f<() => number>("uint32_t libbpf_minor_version(void)"),
    setPrint: f<(fn: unknown) => unknown>("void *libbpf_set_print(sealtrace_libbpf_print_fn *fn)"),
    objectOpenFile: f<(path: string, opts: null) => Ptr | null>(
      "void *bpf_object__open_file(const char *path, void *opts)",
    ),
    objectLoad: f<(obj: Ptr) => number>("int bpf_object__load(void *obj)"),
    objectClose: f<(obj: Ptr) => void>("void bpf_object__close(void *obj)"),
    objectBtf: f<(obj: Ptr) => Ptr | null>("void *bpf_object__btf(void *obj)"),
    objectNextProgram: f<(obj: Ptr, prev: Ptr | null) => Ptr | null>(
      "void *bpf_object__next_program(void *obj, void *prev)",
    ),
    objectNextMap: f<(obj: Ptr, prev: Ptr | null) => Ptr | null>("void *bpf_object__next_map(void *obj, void *prev)"),
    programName: f<(prog: Ptr) => string>("const char *bpf_program__name(void *prog)"),
    programSection: f<(prog: Ptr) => string>("const char *bpf_program__section_name(void *prog)"),
    programSetAutoload: f<(prog: Ptr, on: boolean) => number>(
      "int bpf_program__set_autoload(void *prog, bool autoload)",
    ),
    programAutoload: f<(prog: Ptr) => boolean>("bool bpf_program__autoload(void *prog)"),
    programFd: f<(prog: Ptr) => number>("int bpf_program__fd(void *prog)"),
    programAttach: f<(prog: Ptr) => Ptr | null>("void *bpf_program__attach(void *prog)"),
    programAttachTracepoint: f<(prog: Ptr, category: string, name: string) => Ptr | null>(
      "void *bpf_program__attach_tracepoint(void *prog, const char *tp_category, const char *tp_name)",
    ),
    linkDestroy: f<(link: Ptr) => number>("int bpf_link__destroy(void *link)"),
    linkFd: f<(link: Ptr) => number>("int bpf_link__fd(void *link)"),
    mapName: f<(map: Ptr) => string>("const char *bpf_map__name(void *map)"),
    mapFd: f<(map: Ptr) => number>("int bpf_map__fd(void *map)"),
    mapType: f<(map: Ptr) => number>("int bpf_map__type(void *map)"),
    mapKeySize: f<(map: Ptr) => number>("uint32_t bpf_map__key_size(void *map)"),
    mapValueSize: f<(map: Ptr) => number>("uint32_t bpf_map__value_size(void *map)"),
    mapMaxEntries: f<(map: Ptr) => number>("uint32_t bpf_map__max_entries(void *map)"),
    mapFlags: f<(map: Ptr) => number>("uint32_t bpf_map__map_flags(void *map)"),
    mapCreate: f<
      (type: number, name: string, keySize: number, valueSize: number, maxEntries: number, opts: Uint8Array) => number
    >(
      "int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const uint8_t *opts)",
    ),
    mapSetMaxEntries: f<(map: Ptr, n: number) => number>("int bpf_map__set_max_entries(void *map, uint32_t n)"),
    mapReuseFd: f<(map: Ptr, fd: number) => number>("int bpf_map__reuse_fd(void *map, int fd)"),
    mapInitialValue: f<(map: Ptr, size: [number]) => Ptr | null>(
      "void *bpf_map__initial_value(void *map, _Out_ size_t *psize)",
    ),
    mapLookupElem: f<(fd: number, key: Uint8Array, value: Uint8Array) => number>(
      "int bpf_map_lookup_elem(int fd, const uint8_t *key, _Out_ uint8_t *value)",
    ),
    mapUpdateElem: f<(fd: number, key: Uint8Array, value: Uint8Array, flags: bigint) => number>(
      "int bpf_map_update_elem(int fd, const uint8_t *key, const uint8_t *value, uint64_t flags)",
    ),
    mapDeleteElem: f<(fd: number, key: Uint8Array) => number>("int bpf_map_delete_elem(int fd, const uint8_t *key)"),
    mapGetNextKey: f<(fd: number, key: Uint8Array | null, next: Uint8Array) => number>(
      "int bpf_map_get_next_key(int fd, const uint8_t *key, _Out_ uint8_t *next)",
    ),
    mapLookupBatch: f<
      (
        fd: number,
        inBatch: Uint8Array | null,
        outBatch: Uint8Array,
        keys: Uint8Array,
        values: Uint8Array,
        count: [number],
        opts: Uint8Array,
      ) => number
    >(
      "int bpf_map_lookup_batch(int fd, uint8_t *in_batch, _Out_ uint8_t *out_batch, _Out_ uint8_t *keys, _Out_ uint8_t *values, _Inout_ uint32_t *count, const uint8_t *opts)",
    ),
    objGetInfoByFd: f<(fd: number, info: Uint8Array, len: [number]) => number>(
      "int bpf_obj_get_info_by_fd(int fd, _Out_ uint8_t *info, _Inout_ uint32_t *len)",
    ),
    iterCreate: f<(linkFd: number) => number>("int bpf_iter_create(int link_fd)"),
    enableStats: f<(type: number) => number>("int bpf_enable_stats(int type)"),
    btfFindByNameKind: f<(btf: Ptr, name: string, kind: number) => number>(
      "int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)",
    ),
    btfTypeById: f<(btf: Ptr, id: number) => Ptr | null>("void *btf__type_by_id(void *btf, uint32_t id)"),
    btfNameByOffset: f<(btf: Ptr, off: number) => string>("const char *btf__name_by_offset(void *btf, uint32_t off)"),
    btfResolveSize: f<(btf: Ptr, id: number) => number>("int btf__resolve_size(void *btf, uint32_t id)"),
    btfParse: f<(path: string, ext: null) => Ptr | null>("void *btf__parse(const char *path, void *ext)"),
    btfFree: f<(btf: Ptr) => void>("void btf__free(void *btf)"),
  };
}

function makeLibc() {
  const lib = loadLibrary("libc.so.6", "install the Debian package 'libc6'");
  const f = <T>(decl: string) => bind<T>(lib, "libc.so.6", "libc6", decl);
  return {
    mmap: f<(addr: null, len: number, prot: number, flags: number, fd: number, off: bigint) => Ptr>(
      "void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)",
    ),
    munmap: f<(addr: Ptr, len: number) => number>("int munmap(void *addr, size_t len)"),
    vsnprintf: f<(buf: Uint8Array, n: number, fmt: string, ap: Ptr) => number>(
      "int vsnprintf(_Out_ uint8_t *buf, size_t n, const char *fmt, void *ap)",
    ),
    close: f<(fd: number) => number>("int close(int fd)"),
    linkat: f<(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string, flags: number) => number>(
      "int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)",
    ),
    sysconf: f<(name: number) => bigint>("long sysconf(int name)"),
    clockGettime: f<(clock: number, ts: { tv_sec: bigint | number; tv_nsec: bigint | number }) => number>(
      "int clock_gettime(int clk, _Out_ sealtrace_timespec *ts)",
    ),
  };
}

let libbpfCache: ReturnType<typeof makeLibbpf> | undefined;
let libcCache: ReturnType<typeof makeLibc> | undefined;

/** The bound libbpf functions. Throws UserError(unsupported) when libbpf.so.1 or a symbol is missing. */
export function libbpf(): ReturnType<typeof makeLibbpf> {
  if (!libbpfCache) {
    libbpfCache = makeLibbpf();
    installPrintHook();
  }
  return libbpfCache;
}

export function libc(): ReturnType<typeof makeLibc> {
  libcCache ??= makeLibc();
  return libcCache;
}

/** The C errno of the last failing libbpf call (libbpf 1.x returns NULL/-1 and sets errno). */
export function lastErrno(): number {
  return koffi.errno();
}

/** A view of native memory, without copy. The memory must outlive the view. */
export function viewOf(ptr: Ptr, bytes: number): ArrayBuffer {
  return koffi.view(ptr, bytes);
}

export function address(ptr: Ptr): bigint {
  return koffi.address(ptr);
}

/** Reads `bytes` bytes at `ptr` + `offset` into a new Uint8Array. */
export function readBytes(ptr: Ptr, offset: number, bytes: number): Uint8Array {
  return new Uint8Array(koffi.view(ptr, offset + bytes), offset, bytes).slice();
}

// libbpf's log (the verifier's log among it) is captured, not printed: a load failure shows it
// in its error, and nothing clutters the operator's terminal otherwise.
let logLines: string[] = [];
let printHook: unknown;
const LIBBPF_DEBUG = 2;

function installPrintHook(): void {
  const lb = libbpfCache!;
  const c = libc();
  const buf = new Uint8Array(4 << 20); // a verifier log arrives in one call
  printHook = koffi.register((level: number, fmt: string, args: Ptr) => {
    if (level === LIBBPF_DEBUG && !process.env.SEALTRACE_LIBBPF_DEBUG) return 0;
    const n = c.vsnprintf(buf, buf.length, fmt, args);
    const line = Buffer.from(buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1)))).toString("utf8");
    logLines.push(line);
    if (logLines.length > 20000) logLines = logLines.slice(-10000);
    if (process.env.SEALTRACE_LIBBPF_DEBUG) process.stderr.write(line);
    return 0;
  }, koffi.pointer(PrintFn));
  lb.setPrint(printHook);
}

/** Returns and clears what libbpf logged since the last call. */
export function takeLibbpfLog(): string {
  const s = logLines.join("");
  logLines = [];
  return s;
}
