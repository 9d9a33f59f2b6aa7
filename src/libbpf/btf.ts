// Reads struct layouts and .rodata variable offsets from the BTF of a compiled BPF object.
import { libbpf, viewOf, type Ptr } from "./native.js";

const KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  var: 14,
  datasec: 15,
} as const;

export interface FieldLayout {
  name: string;
  offset: number;
  size: number;
}

export interface StructLayout {
  name: string;
  size: number;
  fields: FieldLayout[];
}

export interface VarLayout {
  offset: number;
  size: number;
}

function header(
  btf: Ptr,
  id: number,
): { nameOff: number; kind: number; vlen: number; kflag: boolean; sizeOrType: number; ptr: Ptr } {
  const t = libbpf().btfTypeById(btf, id);
  if (!t) throw new Error(`BTF type ${id} not found`);
  const v = new DataView(viewOf(t, 12));
  const info = v.getUint32(4, true);
  return {
    nameOff: v.getUint32(0, true),
    kind: (info >>> 24) & 0x1f,
    vlen: info & 0xffff,
    kflag: info >>> 31 === 1,
    sizeOrType: v.getUint32(8, true),
    ptr: t,
  };
}

/** The layout of `struct name` in `btf`, members in declaration order; anonymous members are flattened. */
export function structLayout(btf: Ptr, name: string): StructLayout {
  const lb = libbpf();
  const id = lb.btfFindByNameKind(btf, name, KIND.struct);
  if (id < 0) throw new Error(`struct ${name} not in BTF`);
  const h = header(btf, id);
  return { name, size: h.sizeOrType, fields: members(btf, id, 0) };
}

function members(btf: Ptr, id: number, base: number): FieldLayout[] {
  const lb = libbpf();
  const h = header(btf, id);
  const v = new DataView(viewOf(h.ptr, 12 + h.vlen * 12));
  const out: FieldLayout[] = [];
  for (let i = 0; i < h.vlen; i++) {
    const o = 12 + i * 12;
    const nameOff = v.getUint32(o, true);
    const type = v.getUint32(o + 4, true);
    const rawOff = v.getUint32(o + 8, true);
    const bitOff = h.kflag ? rawOff & 0xffffff : rawOff;
    const name = lb.btfNameByOffset(btf, nameOff);
    const offset = base + bitOff / 8;
    if (!name) {
      out.push(...members(btf, skipModifiers(btf, type), offset));
      continue;
    }
    out.push({ name, offset, size: lb.btfResolveSize(btf, type) });
  }
  return out;
}

function skipModifiers(btf: Ptr, id: number): number {
  for (;;) {
    const h = header(btf, id);
    if (h.kind === KIND.typedef || h.kind === KIND.volatile || h.kind === KIND.const || h.kind === KIND.restrict)
      id = h.sizeOrType;
    else return id;
  }
}

/** Variables of a data section (".rodata", ".bss"): name → offset and size inside the section. */
export function datasecVars(btf: Ptr, section: string): Map<string, VarLayout> {
  const lb = libbpf();
  const out = new Map<string, VarLayout>();
  const id = lb.btfFindByNameKind(btf, section, KIND.datasec);
  if (id < 0) return out;
  const h = header(btf, id);
  const v = new DataView(viewOf(h.ptr, 12 + h.vlen * 12));
  for (let i = 0; i < h.vlen; i++) {
    const o = 12 + i * 12;
    const varHeader = header(btf, v.getUint32(o, true));
    out.set(lb.btfNameByOffset(btf, varHeader.nameOff), {
      offset: v.getUint32(o + 4, true),
      size: v.getUint32(o + 8, true),
    });
  }
  return out;
}

/** Opens the BTF of an ELF object file without loading it; free with `closeBtf`. */
export function openBtf(path: string): Ptr {
  const btf = libbpf().btfParse(path, null);
  if (!btf) throw new Error(`no BTF in ${path}`);
  return btf;
}

export function closeBtf(btf: Ptr): void {
  libbpf().btfFree(btf);
}
