// The import graph points one way: cli/ is the top (argv, output, exit codes), and no module under src/
// outside cli/ imports from it. Every import of src/**/*.ts is parsed (static, re-export, dynamic) and
// resolved, so an arrow back into cli/ added anywhere fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { ROOT } from "../helpers/bpf.js";

const SRC = join(ROOT, "src");

/** Every .ts file under `dir`, as paths relative to src/ with "/" separators. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sources(path);
    return d.name.endsWith(".ts") ? [relative(SRC, path).split(sep).join("/")] : [];
  });
}

interface Edge {
  from: string;
  to: string;
}

/** The arrows between files of src/ (paths relative to src/), from each file's imports of relative paths. */
function edges(files: ReadonlyMap<string, string>): Edge[] {
  return [...files].flatMap(([from, text]) =>
    ts
      .preProcessFile(text, true, true)
      .importedFiles.map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => ({
        from,
        to: relative(SRC, resolve(SRC, dirname(from), spec.replace(/\.js$/, ".ts")))
          .split(sep)
          .join("/"),
      })),
  );
}

/** The arrows from outside cli/ into it. */
function intoCli(all: readonly Edge[]): Edge[] {
  return all.filter((e) => !e.from.startsWith("cli/") && e.to.startsWith("cli/"));
}

test("no module outside src/cli imports from src/cli", () => {
  const files = new Map(sources(SRC).map((f) => [f, readFileSync(join(SRC, f), "utf8")]));
  const all = edges(files);
  // The parse sees the graph: every arrow lands on a file, and known ones of each form are found.
  for (const e of all) assert.ok(existsSync(join(SRC, e.to)), `${e.from} imports ${e.to}, which does not exist`);
  const has = (from: string, to: string) => all.some((e) => e.from === from && e.to === to);
  assert.ok(has("cli/program.ts", "cli/exit-codes.ts"), "a static import");
  assert.ok(has("cli/commands/record.ts", "session/verify.ts"), "a dynamic import()");
  assert.ok(has("session/envelope.ts", "errors.ts"), "a domain layer's errors");
  assert.ok(all.length > 300, `only ${all.length} imports found`);

  assert.deepEqual(
    intoCli(all).map((e) => `${e.from} -> ${e.to}`),
    [],
    "library layers throw UserError kinds (src/errors.ts); only cli/ knows exit codes",
  );
});

test("the check catches every form of import into cli/", () => {
  const files = new Map([
    ["session/a.ts", 'import {\n  EXIT,\n} from "../cli/exit-codes.js";\n'],
    ["replay/b.ts", 'export { main } from "../cli/program.js";\n// import "../cli/not-real.js" in a comment\n'],
    ["libbpf/c.ts", 'const m = await import("../cli/status.js");\nimport type { X } from "../session/a.js";\n'],
    ["errors.ts", 'import "./cli/main.js";\n'],
    ["cli/d.ts", 'import { x } from "../session/a.js";\nimport { y } from "./program.js";\n'],
  ]);
  assert.deepEqual(
    intoCli(edges(files)).map((e) => `${e.from} -> ${e.to}`),
    [
      "session/a.ts -> cli/exit-codes.ts",
      "replay/b.ts -> cli/program.ts",
      "libbpf/c.ts -> cli/status.ts",
      "errors.ts -> cli/main.ts",
    ],
  );
});
