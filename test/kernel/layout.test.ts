// bpf/events.h and src/events/layouts.ts agree byte for byte: checked against the BTF of the compiled objects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_LAYOUTS } from "../../src/events/layouts.js";
import { openBtf, closeBtf, structLayout, type StructLayout } from "../../src/libbpf/btf.js";
import { ROOT } from "../helpers/bpf.js";

function cLayouts(): Map<string, StructLayout> {
  const out = new Map<string, StructLayout>();
  for (const f of readdirSync(join(ROOT, "bpf")).filter((n) => n.endsWith(".bpf.o"))) {
    const btf = openBtf(join(ROOT, "bpf", f));
    try {
      for (const l of ALL_LAYOUTS) {
        if (out.has(l.cName)) continue;
        try {
          out.set(l.cName, structLayout(btf, l.cName));
        } catch {
          /* not used by this object */
        }
      }
    } finally {
      closeBtf(btf);
    }
  }
  return out;
}

test("every TS layout matches its C struct: size, names, offsets and sizes of every field", () => {
  const c = cLayouts();
  for (const l of ALL_LAYOUTS) {
    const s = c.get(l.cName);
    assert.ok(s, `struct ${l.cName} is in no compiled object's BTF (reference it from its bundle)`);
    assert.equal(l.size, s.size, `${l.cName} size`);
    assert.deepEqual(
      l.fields.map((f) => [f.name, f.offset, f.size]),
      s.fields.map((f) => [f.name, f.offset, f.size]),
      `${l.cName} fields`,
    );
  }
});

test("every struct in bpf/events.h has a TS mirror", () => {
  const header = readFileSync(join(ROOT, "bpf", "events.h"), "utf8");
  const cStructs = [...header.matchAll(/^struct (st_\w+) \{/gm)].map((m) => m[1]);
  const mirrored = new Set(ALL_LAYOUTS.map((l) => l.cName));
  assert.ok(cStructs.length >= 10);
  for (const s of cStructs) assert.ok(mirrored.has(s!), `struct ${s} has no layout in src/events/layouts.ts`);
});
