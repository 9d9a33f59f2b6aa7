// Runbooks: YAML files naming bundles, filters, duration and limits. Parsed with file:line:col errors.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { Node, Document } from "yaml";
import { UserError } from "../errors.js";
import { parseDurationMs, parseSizeBytes } from "./units.js";
import type { BundleName } from "../bundles/spec.js";
import { isAgeRecipient } from "../session/recipient.js";
import { BUNDLES } from "../bundles/registry.js";
import { COMPILED } from "./compiled.js";

/** The bundles a runbook may name: the registry's, in its order. */
export const BUNDLE_NAMES: readonly BundleName[] = [...BUNDLES.keys()];
export const ON_LIMIT = ["stop", "drop"] as const;

export interface Runbook {
  name: string;
  description: string;
  bundles: BundleName[];
  durationMs: number;
  filters: {
    pid?: number;
    comm?: string;
    cgroup?: string;
    uid?: number;
    ports: number[];
    addresses: string[];
    allFileTypes: boolean;
  };
  limits: {
    maxBytes?: number;
    maxEvents?: number;
    onLimit: (typeof ON_LIMIT)[number];
    /** Executables larger than this get their size and `tooLarge`, not a hash (default 256 MiB; 0: none). */
    maxHashFileBytes?: number;
  };
  snapshotIntervalMs: number;
  flushIntervalMs: number;
  redact: { argv: string[] };
  recipients: string[];
  signingKey?: string;
  prompts: { incident: boolean; target: boolean };
  /** Where it came from, and the SHA-256 of its bytes (recorded in the session's metadata). */
  source: { path: string; sha256: string; text: string };
}

/** A runbook error at a place in its file. */
export class RunbookError extends UserError {
  constructor(path: string, line: number, col: number, rule: string) {
    super(`${path}:${line}:${col}: ${rule}`, "bad-input");
  }
}

/**
 * Bounds on what a runbook may ask for, checked before the YAML parser sees the text or before a list is
 * walked: a hostile or mistaken runbook is one clear error, never minutes of parsing or a crash.
 */
export const RUNBOOK_LIMITS = {
  /** Shipped runbooks are about 500 bytes; the text is also stored in every session's metadata. */
  textBytes: 64 * 1024,
  /** Flow collections (`[`, `{`) nested deeper than this are refused before parsing (the parser recurses). */
  flowDepth: 8,
  /** A week: longer is a typo, and would overflow the recorder's timers. */
  durationMs: 7 * 24 * 3_600_000,
  snapshotIntervalMs: 3_600_000,
  maxBytes: 1024 ** 4,
  maxHashFileBytes: 64 * 1024 ** 3,
  redactPatterns: 64,
  redactPatternBytes: 256,
  recipients: 64,
  addresses: 8,
  ports: 16,
  stringBytes: 4096,
} as const;

const TOP_KEYS = [
  "name",
  "description",
  "bundles",
  "duration",
  "filters",
  "limits",
  "snapshotInterval",
  "flushInterval",
  "redact",
  "recipients",
  "signingKey",
  "prompts",
];
const FILTER_KEYS = ["pid", "comm", "cgroup", "uid", "ports", "addresses", "allFileTypes"];
const LIMIT_KEYS = ["maxBytes", "maxEvents", "onLimit", "maxHashFileSize"];
const REDACT_KEYS = ["argv"];
const PROMPT_KEYS = ["incident", "target"];

// The yaml package is loaded on first use: importing it costs ~35 ms here, before the probes can be
// loaded, and the shipped runbooks do not need it (see COMPILED below). Its CommonJS build is what
// `import` would load in Node too.
type Yaml = typeof import("yaml");
let yamlModule: Yaml | undefined;
const yaml = (): Yaml => (yamlModule ??= createRequire(import.meta.url)("yaml") as Yaml);

/** A runbook as parsed from its text alone: what src/runbook/compiled.ts stores per text hash. */
export type ParsedRunbook = Omit<Runbook, "source">;

/** Reads and validates a runbook file. Throws RunbookError (file:line:col and the rule broken) or UserError. */
export function loadRunbook(path: string): Runbook {
  return parseRunbook(readRunbookText(path), path, COMPILED);
}

/** Reads at most RUNBOOK_LIMITS.textBytes of a regular file; a FIFO or device is refused without blocking. */
function readRunbookText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new UserError(
      `cannot read runbook ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "bad-input",
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`runbook ${path} is not a regular file`, "bad-input");
    if (st.size > RUNBOOK_LIMITS.textBytes) throw tooLong(path, st.size);
    const buf = Buffer.alloc(RUNBOOK_LIMITS.textBytes + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > RUNBOOK_LIMITS.textBytes) throw tooLong(path, undefined);
    return buf.subarray(0, n).toString("utf8");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot read runbook ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "bad-input",
    );
  } finally {
    closeSync(fd);
  }
}

/** `bytes`: the size when known, else undefined (a file that grew while being read). */
function tooLong(path: string, bytes: number | undefined): RunbookError {
  return new RunbookError(
    path,
    1,
    1,
    `a runbook is at most ${RUNBOOK_LIMITS.textBytes / 1024} KiB; this one is ${bytes === undefined ? "larger" : `${bytes} bytes`}`,
  );
}

/** Where flow collections first nest deeper than the limit (a cheap scan: brackets inside strings count too). */
function deepFlowOffset(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > RUNBOOK_LIMITS.flowDepth) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}

/**
 * Parses runbook text; `path` names it in errors. A text whose SHA-256 is in `compiled` (the shipped
 * runbooks, parsed at build time by this same function) is taken from there without parsing.
 */
export function parseRunbook(
  text: string,
  path: string,
  compiled: Readonly<Record<string, ParsedRunbook>> = {},
): Runbook {
  const sha256 = createHash("sha256").update(text).digest("hex");
  const known = compiled[sha256];
  if (known) return { ...structuredClone(known), source: { path, sha256, text } };
  const textBytes = Buffer.byteLength(text);
  if (textBytes > RUNBOOK_LIMITS.textBytes) throw tooLong(path, textBytes);
  const deep = deepFlowOffset(text);
  if (deep !== undefined) {
    const before = text.slice(0, deep).split("\n");
    throw new RunbookError(
      path,
      before.length,
      before[before.length - 1]!.length + 1,
      `'[' and '{' nest at most ${RUNBOOK_LIMITS.flowDepth} deep in a runbook`,
    );
  }
  const { parseDocument, LineCounter, isMap, isSeq, isScalar } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined, fallbackOffset = 0) => {
    const off = node?.range?.[0] ?? fallbackOffset;
    const p = lines.linePos(off);
    return [p.line, p.col] as const;
  };
  const fail = (node: Node | null | undefined, rule: string): never => {
    const [l, c] = at(node);
    throw new RunbookError(path, l, c, rule);
  };
  const firstError = doc.errors[0];
  if (firstError) {
    const p = firstError.linePos?.[0] ?? lines.linePos(firstError.pos[0]);
    throw new RunbookError(path, p.line, p.col, `YAML syntax: ${firstError.message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, "a runbook is a mapping of keys (name, bundles, duration, ...)");
  const get = (map: Node, key: string): Node | undefined =>
    isMap(map) ? (map.get(key, true) as Node | undefined) : undefined;
  checkKeys(root, TOP_KEYS, "runbook", fail);

  const str = (node: Node | undefined, what: string, required: boolean): string | undefined => {
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (required) fail(root, `missing required key '${what}'`);
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== "string" || node.value.trim() === "")
      return fail(node, `'${what}' must be a non-empty string`);
    if (Buffer.byteLength(node.value) > RUNBOOK_LIMITS.stringBytes)
      return fail(node, `'${what}' is at most ${RUNBOOK_LIMITS.stringBytes} bytes`);
    return node.value;
  };
  const int = (node: Node | undefined, what: string, min: number, max: number): number | undefined => {
    if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
    if (
      !isScalar(node) ||
      typeof node.value !== "number" ||
      !Number.isInteger(node.value) ||
      node.value < min ||
      node.value > max
    ) {
      return fail(node, `'${what}' must be an integer from ${min} to ${max}`);
    }
    return node.value;
  };
  const bool = (node: Node | undefined, what: string, dflt: boolean): boolean => {
    if (node === undefined) return dflt;
    if (!isScalar(node) || typeof node.value !== "boolean") return fail(node, `'${what}' must be true or false`);
    return node.value;
  };
  const duration = (
    node: Node | undefined,
    what: string,
    dfltMs: number | undefined,
    minMs: number,
    maxMs: number,
    maxText: string,
  ): number => {
    if (node === undefined) {
      if (dfltMs === undefined) return fail(root, `missing required key '${what}'`);
      return dfltMs;
    }
    const v =
      isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")
        ? parseDurationMs(node.value)
        : undefined;
    if (v === undefined) return fail(node, `'${what}' must be a duration like 30s, 5m or 1h, at most ${maxText}`);
    if (v < minMs) return fail(node, `'${what}' must be at least ${minMs} ms`);
    if (v > maxMs) return fail(node, `'${what}' must be at most ${maxText}`);
    return v;
  };
  const list = (node: Node | undefined, what: string, maxItems: number): Node[] => {
    if (node === undefined) return [];
    if (!isSeq(node)) return fail(node, `'${what}' must be a list`);
    if (node.items.length > maxItems)
      return fail(node.items[maxItems] as Node, `'${what}' holds at most ${maxItems} entries`);
    return node.items as Node[];
  };

  const name = str(get(root, "name"), "name", true)!;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    fail(get(root, "name"), "'name' must be lowercase letters, digits and dashes");
  const description = str(get(root, "description"), "description", true)!;

  const bundlesNode = get(root, "bundles");
  if (bundlesNode === undefined) fail(root, "missing required key 'bundles'");
  const bundles: BundleName[] = [];
  for (const b of list(bundlesNode, "bundles", BUNDLE_NAMES.length)) {
    if (!isScalar(b) || !BUNDLE_NAMES.includes(b.value as BundleName))
      fail(b, `unknown bundle; expected one of ${BUNDLE_NAMES.join(", ")}`);
    const v = (b as { value: BundleName }).value;
    if (bundles.includes(v)) fail(b, `bundle '${v}' is listed twice`);
    bundles.push(v);
  }
  if (bundles.length === 0) fail(bundlesNode, "'bundles' must name at least one bundle");

  const durationMs = duration(
    get(root, "duration"),
    "duration",
    undefined,
    100,
    RUNBOOK_LIMITS.durationMs,
    "168h, a week",
  );

  const filtersNode = get(root, "filters");
  if (filtersNode !== undefined && !isMap(filtersNode)) fail(filtersNode, "'filters' must be a mapping");
  if (filtersNode) checkKeys(filtersNode, FILTER_KEYS, "filters", fail);
  const f = (k: string) => (filtersNode ? get(filtersNode, k) : undefined);
  const ports = list(f("ports"), "filters.ports", RUNBOOK_LIMITS.ports).map((p) =>
    int(p, "filters.ports[]", 1, 65535)!,
  );
  const addresses = list(f("addresses"), "filters.addresses", RUNBOOK_LIMITS.addresses).map((a) => {
    const s = str(a, "filters.addresses[]", true)!;
    if (!/^[0-9a-fA-F:.]+$/.test(s)) fail(a, "an address must be an IPv4 or IPv6 literal");
    return s;
  });
  const filters: Runbook["filters"] = {
    ports,
    addresses,
    allFileTypes: bool(f("allFileTypes"), "filters.allFileTypes", false),
  };
  const pid = int(f("pid"), "filters.pid", 1, 4194304);
  if (pid !== undefined) filters.pid = pid;
  const comm = str(f("comm"), "filters.comm", false);
  if (comm !== undefined) {
    if (Buffer.byteLength(comm) > 15) fail(f("comm"), "'filters.comm' is at most 15 bytes (the kernel's comm length)");
    filters.comm = comm;
  }
  const cgroup = str(f("cgroup"), "filters.cgroup", false);
  if (cgroup !== undefined) filters.cgroup = cgroup;
  const uid = int(f("uid"), "filters.uid", 0, 4294967294);
  if (uid !== undefined) filters.uid = uid;

  const limitsNode = get(root, "limits");
  if (limitsNode !== undefined && !isMap(limitsNode)) fail(limitsNode, "'limits' must be a mapping");
  if (limitsNode) checkKeys(limitsNode, LIMIT_KEYS, "limits", fail);
  const l = (k: string) => (limitsNode ? get(limitsNode, k) : undefined);
  const limits: Runbook["limits"] = { onLimit: "stop" };
  const maxBytesNode = l("maxBytes");
  if (maxBytesNode !== undefined) {
    const v =
      isScalar(maxBytesNode) && (typeof maxBytesNode.value === "string" || typeof maxBytesNode.value === "number")
        ? parseSizeBytes(maxBytesNode.value)
        : undefined;
    if (v === undefined || v < 65536 || v > RUNBOOK_LIMITS.maxBytes)
      fail(maxBytesNode, "'limits.maxBytes' must be a size from 64KiB to 1TiB, like 512MiB or 2GB");
    limits.maxBytes = v!;
  }
  const hashNode = l("maxHashFileSize");
  if (hashNode !== undefined) {
    const v =
      isScalar(hashNode) && (typeof hashNode.value === "string" || typeof hashNode.value === "number")
        ? parseSizeBytes(hashNode.value)
        : undefined;
    if (v === undefined || v > RUNBOOK_LIMITS.maxHashFileBytes)
      fail(hashNode, "'limits.maxHashFileSize' must be a size from 0 (hash nothing) to 64GiB, like 256MiB");
    limits.maxHashFileBytes = v!;
  }
  const maxEvents = int(l("maxEvents"), "limits.maxEvents", 1, Number.MAX_SAFE_INTEGER);
  if (maxEvents !== undefined) limits.maxEvents = maxEvents;
  const onLimitNode = l("onLimit");
  if (onLimitNode !== undefined) {
    if (!isScalar(onLimitNode) || !ON_LIMIT.includes(onLimitNode.value as "stop"))
      fail(onLimitNode, `'limits.onLimit' must be one of ${ON_LIMIT.join(", ")}`);
    limits.onLimit = (onLimitNode as { value: "stop" | "drop" }).value;
  }

  const snapshotIntervalMs = duration(
    get(root, "snapshotInterval"),
    "snapshotInterval",
    5000,
    100,
    RUNBOOK_LIMITS.snapshotIntervalMs,
    "1h",
  );
  const flushIntervalMs = duration(
    get(root, "flushInterval"),
    "flushInterval",
    1000,
    50,
    1000,
    "1s: a crash may lose at most the last second",
  );

  const redactNode = get(root, "redact");
  if (redactNode !== undefined && !isMap(redactNode)) fail(redactNode, "'redact' must be a mapping");
  if (redactNode) checkKeys(redactNode, REDACT_KEYS, "redact", fail);
  const argvPatterns = list(
    redactNode ? get(redactNode, "argv") : undefined,
    "redact.argv",
    RUNBOOK_LIMITS.redactPatterns,
  ).map((p) => {
    const s = str(p, "redact.argv[]", true)!;
    if (Buffer.byteLength(s) > RUNBOOK_LIMITS.redactPatternBytes)
      fail(p, `a redact pattern is at most ${RUNBOOK_LIMITS.redactPatternBytes} bytes`);
    return s;
  });

  const recipients = list(get(root, "recipients"), "recipients", RUNBOOK_LIMITS.recipients).map((r) => {
    const s = str(r, "recipients[]", true)!;
    if (!isAgeRecipient(s)) fail(r, "a recipient is an age public key (age1… , 62 characters)");
    return s;
  });
  const signingKey = str(get(root, "signingKey"), "signingKey", false);

  const promptsNode = get(root, "prompts");
  if (promptsNode !== undefined && !isMap(promptsNode)) fail(promptsNode, "'prompts' must be a mapping");
  if (promptsNode) checkKeys(promptsNode, PROMPT_KEYS, "prompts", fail);
  const p = (k: string) => (promptsNode ? get(promptsNode, k) : undefined);
  const prompts = {
    incident: bool(p("incident"), "prompts.incident", true),
    target: bool(p("target"), "prompts.target", false),
  };

  const rb: Runbook = {
    name,
    description,
    bundles,
    durationMs,
    filters,
    limits,
    snapshotIntervalMs,
    flushIntervalMs,
    redact: { argv: argvPatterns },
    recipients,
    prompts,
    source: { path, sha256, text },
  };
  if (signingKey !== undefined) rb.signingKey = signingKey;
  return rb;
}

function checkKeys(
  map: Node,
  allowed: readonly string[],
  where: string,
  fail: (n: Node | undefined, rule: string) => never,
): void {
  const { isMap, isScalar } = yaml();
  if (!isMap(map)) return;
  for (const pair of map.items) {
    const key = pair.key as Node;
    const k = isScalar(key) ? String(key.value) : "";
    if (!allowed.includes(k)) fail(key, `unknown key '${k}' in ${where}; allowed: ${allowed.join(", ")}`);
  }
}

export type { Document };
