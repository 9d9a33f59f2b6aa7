// Reads Sigma rule files: one file may hold several YAML documents; every document is kept with a way to
// find where a key was written, so errors name file:line:col. A broken document never hides the others.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { UserError } from "../errors.js";
import type { NotEvaluated, SourceRef } from "./rule.js";

export interface RuleSource {
  value: unknown;
  /** Where the node at `path` (keys and list indexes) starts, or the document start if absent. */
  locate(path: ReadonlyArray<string | number>): SourceRef;
}

/** Rules are written by the analyst, but an accidental multi-MB file must not stall the run. */
const MAX_FILE_BYTES = 8 << 20;

/** Every .yml/.yaml file under `path` (a file or a directory), in name order. Throws UserError if absent. */
export function ruleFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`--rules ${path}: no such file or directory`, "bad-input");
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((d) => {
      const p = join(path, d.name);
      if (d.isDirectory()) return ruleFiles(p);
      return /\.ya?ml$/i.test(d.name) ? [p] : [];
    });
}

/** Parses one rule file's text. Documents with YAML errors become NotEvaluated entries at the error. */
export function parseRuleText(file: string, text: string): { sources: RuleSource[]; broken: NotEvaluated[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const sources: RuleSource[] = [];
  const broken: NotEvaluated[] = [];
  const at = (offset: number): SourceRef => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  if (!Array.isArray(docs)) {
    // An empty stream (only comments): nothing to run and nothing wrong.
    return { sources, broken };
  }
  for (const doc of docs as Document.Parsed[]) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      broken.push({
        ...at(e.pos[0]),
        id: undefined,
        title: undefined,
        level: undefined,
        reason: `YAML syntax: ${e.message.split("\n")[0]}`,
      });
      continue;
    }
    if (doc.contents === null) continue;
    const start = doc.contents.range?.[0] ?? 0;
    sources.push({
      value: doc.toJS({ maxAliasCount: 100 }),
      locate: (path) => {
        for (let n = path.length; n > 0; n--) {
          const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
          if (node && typeof node === "object" && node.range) return at(node.range[0]);
        }
        return at(start);
      },
    });
  }
  return { sources, broken };
}

/** Reads and parses one rule file. Throws UserError when it cannot be read. */
export function readRuleFile(file: string): { sources: RuleSource[]; broken: NotEvaluated[] } {
  let text: string;
  try {
    if (statSync(file).size > MAX_FILE_BYTES)
      throw new UserError(`${file}: larger than ${MAX_FILE_BYTES >> 20} MiB, not a rule file`, "bad-input");
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot read: ${(e as Error).message}`, "bad-input");
  }
  return parseRuleText(file, text);
}
