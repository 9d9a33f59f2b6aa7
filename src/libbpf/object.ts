// A BPF object's life: open → configure (.rodata, map sizes, shared maps) → load → attach → close.
import { readFileSync } from "node:fs";
import { libbpf, lastErrno, takeLibbpfLog, viewOf, libc, type Ptr } from "./native.js";
import { datasecVars, type VarLayout } from "./btf.js";
import { ensureTracefs } from "./tracefs.js";
import { BpfMap, u32le } from "./map.js";
import { UserError } from "../errors.js";
import { constants as os } from "node:os";

export type RodataValue = number | bigint | boolean | string | Uint8Array;

export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** Creates a map outside any object (for maps shared between objects). Returns its fd; close it with libc close. */
export function createMap(spec: MapSpec): number {
  const opts = new Uint8Array(48);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, 48n, true); // sz
  v.setUint32(28, spec.flags, true); // map_flags
  const fd = libbpf().mapCreate(spec.type, spec.name.slice(0, 15), spec.keySize, spec.valueSize, spec.maxEntries, opts);
  if (fd < 0) throw new UserError(`cannot create map ${spec.name}: ${errnoName(lastErrno())}`, "unsupported");
  return fd;
}

export interface ProgramStats {
  name: string;
  id: number;
  runTimeNs: bigint;
  runCount: bigint;
  recursionMisses: bigint;
}

function errnoName(errno: number): string {
  const entry = Object.entries(os.errno).find(([, v]) => v === errno);
  return entry ? entry[0] : `errno ${errno}`;
}

const live = new Set<BpfObject>();
process.once("exit", () => {
  for (const o of live) o.close();
});

export class BpfObject {
  readonly path: string;
  private obj: Ptr | null;
  private loaded = false;
  private readonly links = new Map<string, Ptr>();
  private readonly rodata: Map<string, VarLayout>;

  private constructor(path: string, obj: Ptr) {
    this.path = path;
    this.obj = obj;
    const btf = libbpf().objectBtf(obj);
    this.rodata = btf ? datasecVars(btf, ".rodata") : new Map();
    live.add(this);
  }

  /** Opens a compiled object. Throws UserError when the file is missing or is not a BPF object. */
  static open(path: string): BpfObject {
    const lb = libbpf();
    takeLibbpfLog();
    const obj = lb.objectOpenFile(path, null);
    if (!obj) {
      const errno = lastErrno();
      throw new UserError(`cannot open BPF object ${path}: ${errnoName(errno)}`, "unsupported", {
        detail: takeLibbpfLog(),
      });
    }
    return new BpfObject(path, obj);
  }

  private handle(): Ptr {
    if (!this.obj) throw new Error(`BPF object ${this.path} is closed`);
    return this.obj;
  }

  /** Writes `.rodata` variables (filters, config) before load. Unknown names are a bug and throw. */
  setRodata(values: Record<string, RodataValue>): void {
    if (this.loaded) throw new Error("setRodata after load");
    const lb = libbpf();
    const map = this.rawMaps().find((m) => lb.mapName(m).endsWith(".rodata"));
    if (!map) throw new Error(`${this.path} has no .rodata`);
    const sizeOut: [number] = [0];
    const ptr = lb.mapInitialValue(map, sizeOut);
    if (!ptr) throw new Error(`${this.path}: .rodata has no initial value`);
    const mem = new Uint8Array(viewOf(ptr, sizeOut[0]));
    for (const [name, value] of Object.entries(values)) {
      const v = this.rodata.get(name);
      if (!v) throw new Error(`${this.path}: no .rodata variable ${name}`);
      writeValue(mem.subarray(v.offset, v.offset + v.size), value, name);
    }
  }

  /** Whether the object declares this .rodata variable. */
  hasRodata(name: string): boolean {
    return this.rodata.has(name);
  }

  private rawMaps(): Ptr[] {
    const lb = libbpf();
    const out: Ptr[] = [];
    for (let m = lb.objectNextMap(this.handle(), null); m; m = lb.objectNextMap(this.handle(), m)) out.push(m);
    return out;
  }

  private rawPrograms(): Ptr[] {
    const lb = libbpf();
    const out: Ptr[] = [];
    for (let p = lb.objectNextProgram(this.handle(), null); p; p = lb.objectNextProgram(this.handle(), p)) out.push(p);
    return out;
  }

  private rawMap(name: string): Ptr {
    const m = this.rawMaps().find((x) => libbpf().mapName(x) === name);
    if (!m) throw new Error(`${this.path}: no map ${name}`);
    return m;
  }

  private rawProgram(name: string): Ptr {
    const p = this.rawPrograms().find((x) => libbpf().programName(x) === name);
    if (!p) throw new Error(`${this.path}: no program ${name}`);
    return p;
  }

  programNames(): string[] {
    return this.rawPrograms().map((p) => libbpf().programName(p));
  }

  mapNames(): string[] {
    return this.rawMaps().map((m) => libbpf().mapName(m));
  }

  setMaxEntries(mapName: string, entries: number): void {
    if (libbpf().mapSetMaxEntries(this.rawMap(mapName), entries) !== 0)
      throw new Error(`set_max_entries ${mapName}: ${errnoName(lastErrno())}`);
  }

  /** Makes this object use an existing map (shared between bundles, e.g. `followed`) instead of its own. */
  reuseMap(mapName: string, fd: number): void {
    if (libbpf().mapReuseFd(this.rawMap(mapName), fd) !== 0)
      throw new Error(`reuse_fd ${mapName}: ${errnoName(lastErrno())}`);
  }

  /** The definition of a map, readable before load (to create a shared map that several objects reuse). */
  mapSpec(mapName: string): MapSpec {
    const lb = libbpf();
    const m = this.rawMap(mapName);
    return {
      name: mapName,
      type: lb.mapType(m),
      keySize: lb.mapKeySize(m),
      valueSize: lb.mapValueSize(m),
      maxEntries: lb.mapMaxEntries(m),
      flags: lb.mapFlags(m),
    };
  }

  setAutoload(programName: string, on: boolean): void {
    libbpf().programSetAutoload(this.rawProgram(programName), on);
  }

  /** Loads every autoloaded program. A verifier rejection throws UserError with the verifier log as detail. */
  load(): void {
    takeLibbpfLog();
    if (libbpf().objectLoad(this.handle()) !== 0) this.loadFailed(lastErrno());
    this.loaded = true;
  }

  /**
   * Loads on a worker thread, so several objects verify in parallel (verification is most of the
   * time to attach). Rejects like load().
   */
  loadAsync(): Promise<void> {
    const obj = this.handle();
    return new Promise((resolve, reject) => {
      (libbpf().objectLoad as unknown as { async: (o: Ptr, cb: (err: unknown, rc: number) => void) => void }).async(
        obj,
        (err, rc) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          try {
            if (rc !== 0) this.loadFailed(-rc);
            this.loaded = true;
            resolve();
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }

  private loadFailed(errno: number): never {
    const tail = takeLibbpfLog().split("\n").slice(-40).join("\n");
    throw new UserError(
      `the kernel refused ${this.path.split("/").pop()}: ${errnoName(errno)} (verifier log follows)`,
      "unsupported",
      { detail: tail },
    );
  }

  map(name: string): BpfMap {
    const lb = libbpf();
    const m = this.rawMap(name);
    return new BpfMap(name, lb.mapFd(m), lb.mapKeySize(m), lb.mapValueSize(m), lb.mapMaxEntries(m), lb.mapType(m));
  }

  /** Attaches one program by its section definition (tracepoint/, raw_tp/, tp_btf/, iter/). Links are never pinned. */
  attach(programName: string): void {
    if (!this.loaded) throw new Error("attach before load");
    const lb = libbpf();
    const prog = this.rawProgram(programName);
    if (lb.programSection(prog).startsWith("tracepoint/")) ensureTracefs();
    takeLibbpfLog();
    const link = lb.programAttach(prog);
    if (!link) {
      const errno = lastErrno();
      throw new UserError(
        `cannot attach ${programName} (${lb.programSection(prog)}): ${errnoName(errno)}`,
        "unsupported",
        { detail: takeLibbpfLog() },
      );
    }
    this.links.set(programName, link);
  }

  /** Whether `programName` is in this object and loads (autoload on). */
  loads(programName: string): boolean {
    return this.programNames().includes(programName) && libbpf().programAutoload(this.rawProgram(programName));
  }

  /**
   * Attaches a loaded classic-tracepoint program to one more tracepoint, `category/name` (one program on
   * several syscalls' exit tracepoints, verified once). Detached with the program's other links.
   */
  attachTracepoint(programName: string, category: string, name: string): void {
    if (!this.loaded) throw new Error("attach before load");
    const lb = libbpf();
    ensureTracefs();
    takeLibbpfLog();
    const link = lb.programAttachTracepoint(this.rawProgram(programName), category, name);
    if (!link) {
      const errno = lastErrno();
      throw new UserError(`cannot attach ${programName} to ${category}/${name}: ${errnoName(errno)}`, "unsupported", {
        detail: takeLibbpfLog(),
      });
    }
    this.links.set(`${programName}@${category}/${name}`, link);
  }

  /** Attaches every loaded program except iterators and those in `skip` (tail-call targets). */
  attachAll(skip: ReadonlySet<string> = new Set()): void {
    const lb = libbpf();
    for (const p of this.rawPrograms()) {
      if (!lb.programAutoload(p) || lb.programSection(p).startsWith("iter") || skip.has(lb.programName(p))) continue;
      this.attach(lb.programName(p));
    }
  }

  /** Puts a loaded program into slot `slot` of the prog array `mapName`: another program's tail call. */
  setTailCall(mapName: string, slot: number, programName: string): void {
    if (!this.loaded) throw new Error("setTailCall before load");
    const lb = libbpf();
    const fd = lb.programFd(this.rawProgram(programName));
    if (fd < 0 || lb.mapUpdateElem(lb.mapFd(this.rawMap(mapName)), u32le(slot), u32le(fd), 0n) !== 0) {
      throw new UserError(
        `the kernel refused ${programName} as a tail call in ${mapName}: ${errnoName(lastErrno())} (it may not allow tail calls between tracing programs)`,
        "unsupported",
      );
    }
  }

  /** Detaches a program: its own link and those attachTracepoint() added. */
  detach(programName: string): void {
    for (const key of [...this.links.keys()])
      if (key === programName || key.startsWith(`${programName}@`)) {
        libbpf().linkDestroy(this.links.get(key)!);
        this.links.delete(key);
      }
  }

  detachAll(): void {
    for (const name of [...this.links.keys()]) this.detach(name);
  }

  /**
   * Detaches every link on worker threads, all at once. Releasing a link waits for the kernel to be
   * done with the program; raw_tp/tp_btf links release in parallel this way, while classic tracepoints'
   * perf events still take ~70 ms each, one at a time under the kernel's event_mutex (measured: a triage
   * stop went from 1.5 s to 1.3 s).
   */
  async detachAllAsync(): Promise<void> {
    const destroy = libbpf().linkDestroy as unknown as { async: (l: Ptr, cb: (err: unknown) => void) => void };
    const links = [...this.links];
    this.links.clear();
    await Promise.all(links.map(([, link]) => new Promise<void>((resolve) => destroy.async(link, () => resolve()))));
  }

  /** Runs a BPF iterator program to completion and returns everything it wrote. */
  runIterator(programName: string): Buffer {
    const lb = libbpf();
    this.attach(programName);
    try {
      const fd = lb.iterCreate(lb.linkFd(this.links.get(programName)!));
      if (fd < 0)
        throw new UserError(`cannot create iterator ${programName}: ${errnoName(lastErrno())}`, "unsupported");
      try {
        return readFileSync(fd);
      } finally {
        libc().close(fd);
      }
    } finally {
      this.detach(programName);
    }
  }

  /** Kernel-side counters of every loaded program: run time (with kernel.bpf_stats_enabled) and recursion misses. */
  programStats(): ProgramStats[] {
    const lb = libbpf();
    const out: ProgramStats[] = [];
    for (const p of this.rawPrograms()) {
      const fd = lb.programFd(p);
      if (fd < 0) continue;
      const info = new Uint8Array(232);
      const len: [number] = [info.length];
      if (lb.objGetInfoByFd(fd, info, len) !== 0) continue;
      const v = new DataView(info.buffer);
      // Offsets from the bpf_prog_info UAPI (include/uapi/linux/bpf.h), a stable ABI.
      out.push({
        name: lb.programName(p),
        id: v.getUint32(4, true),
        runTimeNs: v.getBigUint64(192, true),
        runCount: v.getBigUint64(200, true),
        recursionMisses: len[0] >= 216 ? v.getBigUint64(208, true) : 0n,
      });
    }
    return out;
  }

  /** Detaches every link and frees the object (its programs and maps go with their last fd). Idempotent. */
  close(): void {
    if (!this.obj) return;
    this.detachAll();
    libbpf().objectClose(this.obj);
    this.obj = null;
    live.delete(this);
  }
}

function writeValue(dst: Uint8Array, value: RodataValue, name: string): void {
  const v = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  if (typeof value === "string" || value instanceof Uint8Array) {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    if (bytes.length > dst.length)
      throw new Error(`.rodata ${name}: ${bytes.length} bytes do not fit in ${dst.length}`);
    dst.fill(0);
    dst.set(bytes);
    return;
  }
  const n = typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value);
  switch (dst.length) {
    case 1:
      v.setUint8(0, Number(n));
      break;
    case 2:
      v.setUint16(0, Number(n), true);
      break;
    case 4:
      v.setUint32(0, Number(BigInt.asUintN(32, n)), true);
      break;
    case 8:
      v.setBigUint64(0, BigInt.asUintN(64, n), true);
      break;
    default:
      throw new Error(`.rodata ${name}: unsupported size ${dst.length}`);
  }
}
