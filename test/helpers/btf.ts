// Reads the BTF of a compiled BPF object straight from its ELF file, without libbpf and without root, and
// compares it with the TypeScript mirror of the kernel contract (src/events/layouts.ts).
import type { EnumMirror, Layout } from "../../src/events/layouts.js";

/** A struct member: anonymous members are flattened; `type` is the field's shape (`u32`, `char[16]`, `struct st_hdr`). */
export interface BtfField {
  name: string;
  offset: number;
  size: number;
  type: string;
}
export interface BtfStruct {
  name: string;
  size: number;
  fields: BtfField[];
}
export interface BtfTypes {
  structs: Map<string, BtfStruct>;
  /** Enumerators by name, per enum. */
  enums: Map<string, Map<string, number>>;
}

// include/uapi/linux/btf.h
const KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  funcProto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  declTag: 17,
  typeTag: 18,
  enum64: 19,
} as const;
const BTF_MAGIC = 0xeb9f;
const INT_SIGNED = 1;

interface RawType {
  name: string;
  kind: number;
  vlen: number;
  kflag: boolean;
  sizeOrType: number;
  /** Byte offset of the kind-specific data that follows the common 12 bytes. */
  extra: number;
}

/** The bytes of the ELF section `name`, or throws. ELF64 little-endian only (what clang -target bpf writes). */
function elfSection(elf: Uint8Array, name: string): Uint8Array {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new Error("not a 64-bit little-endian ELF file");
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    const offset = Number(v.getBigUint64(at + 24, true));
    return {
      nameOff: v.getUint32(at, true),
      bytes: elf.subarray(offset, offset + Number(v.getBigUint64(at + 32, true))),
    };
  };
  const names = section(shstrndx).bytes;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (cstr(names, s.nameOff) === name) return s.bytes;
  }
  throw new Error(`no ${name} section`);
}

function cstr(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(at, end)).toString("latin1");
}

/** Every struct and enum of the object's `.BTF` section. */
export function readBtf(elf: Uint8Array): BtfTypes {
  const btf = elfSection(elf, ".BTF");
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (v.getUint16(0, true) !== BTF_MAGIC) throw new Error("bad BTF magic");
  const hdrLen = v.getUint32(4, true);
  const typeStart = hdrLen + v.getUint32(8, true);
  const typeEnd = typeStart + v.getUint32(12, true);
  const strings = btf.subarray(hdrLen + v.getUint32(16, true), hdrLen + v.getUint32(16, true) + v.getUint32(20, true));
  const types: Array<RawType | undefined> = [undefined]; // type 0 is void
  for (let at = typeStart; at < typeEnd;) {
    const info = v.getUint32(at + 4, true);
    const t: RawType = {
      name: cstr(strings, v.getUint32(at, true)),
      kind: (info >>> 24) & 0x1f,
      vlen: info & 0xffff,
      kflag: info >>> 31 === 1,
      sizeOrType: v.getUint32(at + 8, true),
      extra: at + 12,
    };
    types.push(t);
    at += 12 + extraBytes(t);
  }
  const get = (id: number): RawType => {
    const t = types[id];
    if (!t) throw new Error(`BTF type ${id} missing`);
    return t;
  };
  const strip = (id: number): RawType => {
    let t = get(id);
    while (
      t.kind === KIND.typedef ||
      t.kind === KIND.volatile ||
      t.kind === KIND.const ||
      t.kind === KIND.restrict ||
      t.kind === KIND.typeTag
    )
      t = get(t.sizeOrType);
    return t;
  };
  const sizeOf = (id: number): number => {
    const t = strip(id);
    if (t.kind === KIND.ptr) return 8;
    if (t.kind === KIND.array) return v.getUint32(t.extra + 8, true) * sizeOf(v.getUint32(t.extra, true));
    return t.sizeOrType;
  };
  const shape = (id: number): string => {
    const t = strip(id);
    if (t.kind === KIND.int) {
      const signed = (v.getUint32(t.extra, true) >>> 24) & INT_SIGNED;
      return t.name === "char" ? "char" : `${signed ? "s" : "u"}${t.sizeOrType * 8}`;
    }
    if (t.kind === KIND.array) return `${shape(v.getUint32(t.extra, true))}[${v.getUint32(t.extra + 8, true)}]`;
    if (t.kind === KIND.struct || t.kind === KIND.union) return `struct ${t.name}`;
    return `kind${t.kind}`;
  };
  const members = (t: RawType, base: number): BtfField[] => {
    const out: BtfField[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const m = t.extra + i * 12;
      const name = cstr(strings, v.getUint32(m, true));
      const type = v.getUint32(m + 4, true);
      const bits = v.getUint32(m + 8, true);
      const offset = base + (t.kflag ? bits & 0xffffff : bits) / 8;
      if (name === "") out.push(...members(strip(type), offset));
      else out.push({ name, offset, size: sizeOf(type), type: shape(type) });
    }
    return out;
  };
  const out: BtfTypes = { structs: new Map(), enums: new Map() };
  for (const t of types) {
    if (!t || t.name === "") continue;
    if (t.kind === KIND.struct) out.structs.set(t.name, { name: t.name, size: t.sizeOrType, fields: members(t, 0) });
    if (t.kind === KIND.enum) {
      const values = new Map<string, number>();
      for (let i = 0; i < t.vlen; i++) {
        const m = t.extra + i * 8;
        values.set(cstr(strings, v.getUint32(m, true)), t.kflag ? v.getInt32(m + 4, true) : v.getUint32(m + 4, true));
      }
      out.enums.set(t.name, values);
    }
  }
  return out;
}

function extraBytes(t: RawType): number {
  switch (t.kind) {
    case KIND.int:
    case KIND.var:
    case KIND.declTag:
      return 4;
    case KIND.array:
      return 12;
    case KIND.struct:
    case KIND.union:
    case KIND.datasec:
    case KIND.enum64:
      return 12 * t.vlen;
    case KIND.enum:
    case KIND.funcProto:
      return 8 * t.vlen;
    default:
      return 0;
  }
}

/** The BTF shape a TS field kind stands for (`pad` matches any shape). */
function shapeOfKind(kind: string, size: number): string | undefined {
  switch (kind) {
    case "u8":
    case "u16":
    case "u32":
    case "u64":
      return `u${size * 8}`;
    case "s32":
      return "s32";
    case "str":
      return `char[${size}]`;
    case "bytes":
      return `u8[${size}]`;
    case "hdr":
      return "struct st_hdr";
    default:
      return undefined;
  }
}

/** sockState → SOCK_STATE */
export function upperSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/**
 * Every difference between the TS mirror (layouts and enums) and the BTF of the compiled objects, as lines
 * naming the object; empty when they agree. A struct or enum must be in at least one object, and every
 * object that has it must agree: size, and each field's name, offset, size and shape; each enumerator's
 * name and value, both ways.
 */
export function contractDrift(
  objects: ReadonlyArray<{ file: string; btf: BtfTypes }>,
  layouts: readonly Layout[],
  enums: readonly EnumMirror[],
): string[] {
  const out: string[] = [];
  for (const l of layouts) {
    const copies = objects.filter((o) => o.btf.structs.has(l.cName));
    if (copies.length === 0) out.push(`struct ${l.cName}: in no object's BTF (reference it from its bundle)`);
    for (const { file, btf } of copies) {
      const s = btf.structs.get(l.cName)!;
      if (s.size !== l.size) out.push(`${file}: struct ${l.cName} is ${s.size} bytes, TS says ${l.size}`);
      const c = s.fields.map((f) => `${f.name}@${f.offset}+${f.size}`).join(" ");
      const ts = l.fields.map((f) => `${f.name}@${f.offset}+${f.size}`).join(" ");
      if (c !== ts) out.push(`${file}: struct ${l.cName} fields are ${c}; TS says ${ts}`);
      for (const f of l.fields) {
        const want = shapeOfKind(f.kind, f.size);
        const got = s.fields.find((x) => x.name === f.name)?.type;
        if (want !== undefined && got !== undefined && got !== want)
          out.push(`${file}: ${l.cName}.${f.name} is ${got}; TS reads it as ${f.kind} (${want})`);
      }
    }
  }
  for (const e of enums) {
    const copies = objects.filter((o) => o.btf.enums.has(e.cName));
    if (copies.length === 0) out.push(`enum ${e.cName}: in no object's BTF (see struct st_enums in bpf/events.h)`);
    const ts = new Map(Object.entries(e.values).map(([k, n]) => [e.prefix + upperSnake(k), n]));
    for (const { file, btf } of copies) {
      const c = btf.enums.get(e.cName)!;
      for (const [name, n] of c) {
        if (!ts.has(name)) out.push(`${file}: enum ${e.cName}: ${name} = ${n} has no TS mirror`);
        else if (ts.get(name) !== n) out.push(`${file}: enum ${e.cName}: ${name} is ${n}; TS says ${ts.get(name)}`);
      }
      for (const name of ts.keys())
        if (!c.has(name)) out.push(`${file}: enum ${e.cName} has no ${name}, which TS defines`);
    }
  }
  return out;
}
