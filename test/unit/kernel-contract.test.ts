// The kernel contract, checked without root: every struct and enum of bpf/events.h (and the other C constants
// mirrored in TS) against the BTF of the committed objects, so a drift on either side fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ALL_LAYOUTS,
  ENUM_MIRRORS,
  EV,
  SOCK_STATE,
  WRITE_KEY,
  WRITE_VAL,
  type EnumMirror,
  type Layout,
} from "../../src/events/layouts.js";
import { slotLayout } from "../../src/events/writes.js";
import { MAX_ADDRS, MAX_PORTS } from "../../src/bundles/netfilters.js";
import { ROOT } from "../helpers/bpf.js";
import { contractDrift, readBtf } from "../helpers/btf.js";

const objects = readdirSync(join(ROOT, "bpf"))
  .filter((n) => n.endsWith(".bpf.o"))
  .map((file) => ({ file, btf: readBtf(readFileSync(join(ROOT, "bpf", file))) }));

/** Constants mirrored outside src/events/layouts.ts, as enums of their own. */
const NET_MAX: EnumMirror = {
  cName: "st_net_max",
  prefix: "ST_NET_MAX_",
  values: { ports: MAX_PORTS, addrs: MAX_ADDRS },
};
const ENUMS = [...ENUM_MIRRORS, NET_MAX];

test("every TS layout and enum matches the BTF of every object that carries it", () => {
  assert.ok(objects.length >= 5, "the committed objects");
  assert.deepEqual(contractDrift(objects, ALL_LAYOUTS, ENUMS), []);
});

test("every struct and enum of bpf/events.h has a TS mirror, and its other #defines are not mirrored as numbers", () => {
  const header = readFileSync(join(ROOT, "bpf", "events.h"), "utf8");
  const structs = [...header.matchAll(/^struct (st_\w+) \{/gm)].map((m) => m[1]!).filter((s) => s !== "st_enums");
  const enums = [...header.matchAll(/^enum (st_\w+) \{/gm)].map((m) => m[1]!);
  assert.ok(structs.length >= 10 && enums.length >= 5);
  const layouts = new Set(ALL_LAYOUTS.map((l) => l.cName));
  for (const s of structs) assert.ok(layouts.has(s), `struct ${s} has no layout in src/events/layouts.ts`);
  const mirrored = new Set(ENUMS.map((e) => e.cName));
  for (const e of enums) assert.ok(mirrored.has(e), `enum ${e} has no mirror in ENUM_MIRRORS`);
  // Each enum must be anchored in BTF: a field of st_enums.
  const anchor = header.slice(header.indexOf("struct st_enums {"));
  for (const e of enums) assert.match(anchor, new RegExp(`enum ${e} \\w+;`), `st_enums anchors enum ${e}`);
  // ST_COMM_LEN and ST_ADDR_LEN reach TS as field sizes (checked with the layouts); the path limits are
  // kernel-only. A new constant shared with TS belongs in an enum, where BTF carries it.
  const defines = [...header.matchAll(/^#define (\w+)/gm)].map((m) => m[1]!);
  assert.deepEqual(defines.sort(), [
    "SEALTRACE_EVENTS_H",
    "ST_ADDR_LEN",
    "ST_COMM_LEN",
    "ST_PATH_MAX",
    "ST_PATH_MAX_DEPTH",
  ]);
});

test("the write_cache slot layout replay reads matches struct write_slot", () => {
  const s = objects.find((o) => o.btf.structs.has("write_slot"))?.btf.structs.get("write_slot");
  assert.ok(s, "struct write_slot in filewrite.bpf.o");
  const at = (name: string) => s.fields.find((f) => f.name === name)?.offset;
  const ts = slotLayout(WRITE_KEY.size, WRITE_VAL.size);
  assert.deepEqual(
    { head: ts.head, key: ts.key, val: ts.val, tail: ts.tail, size: ts.size },
    { head: at("head"), key: at("key"), val: at("val"), tail: at("tail"), size: s.size },
  );
});

/** A copy of `l` with `change` applied to its field `name`. */
function drifted(l: Layout, name: string, change: Partial<Layout["fields"][number]>): Layout {
  return { ...l, fields: l.fields.map((f) => (f.name === name ? { ...f, ...change } : f)) };
}

test("the check fails on a drifted copy: offsets, widths, signedness, sizes, enum values and names", () => {
  const others = ALL_LAYOUTS.filter((l) => l !== SOCK_STATE);
  const layoutDrift = (l: Layout) => contractDrift(objects, [...others, l], ENUMS);
  assert.match(layoutDrift(drifted(SOCK_STATE, "sport", { offset: 102 })).join("\n"), /st_sock_state fields are/);
  assert.match(layoutDrift(drifted(SOCK_STATE, "sk_err", { size: 2, kind: "u16" })).join("\n"), /st_sock_state/);
  assert.match(
    layoutDrift(drifted(SOCK_STATE, "sk_err", { kind: "u32" })).join("\n"),
    /sk_err is s32; TS reads it as u32/,
  );
  assert.match(layoutDrift({ ...SOCK_STATE, size: 136 }).join("\n"), /st_sock_state is 128 bytes, TS says 136/);
  assert.match(layoutDrift({ ...SOCK_STATE, cName: "st_sock_gone" }).join("\n"), /struct st_sock_gone: in no object/);

  const enumDrift = (values: Record<string, number>) =>
    contractDrift(objects, ALL_LAYOUTS, [{ cName: "st_ev", prefix: "ST_EV_", values }, ...ENUMS.slice(1)]).join("\n");
  assert.match(enumDrift({ ...EV, accept: 14 }), /ST_EV_ACCEPT is 13; TS says 14/);
  const { chmod: _gone, ...fewer } = EV;
  assert.match(enumDrift(fewer), /ST_EV_CHMOD = 34 has no TS mirror/);
  assert.match(enumDrift({ ...EV, mkdir: 35 }), /has no ST_EV_MKDIR, which TS defines/);
  assert.match(
    contractDrift(objects, ALL_LAYOUTS, [{ ...NET_MAX, values: { ports: 32, addrs: MAX_ADDRS } }]).join("\n"),
    /ST_NET_MAX_PORTS is 16; TS says 32/,
  );
});

test("the check fails on a drifted object: a patched enumerator value in the BTF", () => {
  const file = "exec.bpf.o";
  const bytes = Uint8Array.from(readFileSync(join(ROOT, "bpf", file)));
  // Each u32 of value 100 in turn is set to 101 until the parsed BTF shows ST_EV_RING_TEST (= 100) moved.
  const btf = Buffer.from(bytes);
  let patched = 0;
  for (let at = 0; at + 8 <= bytes.length; at += 4) {
    if (btf.readUInt32LE(at + 4) !== 100) continue;
    const copy = Uint8Array.from(bytes);
    Buffer.from(copy.buffer).writeUInt32LE(101, at + 4);
    let parsed;
    try {
      parsed = readBtf(copy);
    } catch {
      continue;
    }
    if (parsed.enums.get("st_ev")?.get("ST_EV_RING_TEST") === 101) {
      patched++;
      const drift = contractDrift([{ file, btf: parsed }], [], ENUM_MIRRORS.slice(0, 1)).join("\n");
      assert.match(drift, /exec\.bpf\.o: enum st_ev: ST_EV_RING_TEST is 101; TS says 100/);
      break;
    }
  }
  assert.equal(patched, 1, "found and patched the enumerator");
});
