// The stored metadata (frame 0) that replay relies on, checked once on load against a declared shape:
// anyone with the team's public key can write a session, so its schema and clock are untrusted input.
import type { Field, FieldKind, Layout } from "../events/layouts.js";
import { KIND_BYTES, READ_KIND, readWidth } from "./schema.js";
import type { BundleInfo, SessionMetadata } from "../session/records.js";

/**
 * What replay reads of frame 0: the parts of the SessionMetadata the recorder writes (src/session/records.ts)
 * that replay uses, after checking. Absent parts are empty or undefined.
 */
export interface SessionMeta {
  readonly host: Readonly<Required<Pick<SessionMetadata["host"], "hostname" | "bootId">>>;
  readonly runbook: Readonly<Pick<SessionMetadata["runbook"], "name">>;
  /** `unavailable`: what the recording kernel could not give (docs/RECORDS.md); a nameless bundle is "?". */
  readonly bundles: ReadonlyArray<Readonly<Pick<BundleInfo, "name" | "unavailable">>>;
  readonly clock: Readonly<Pick<SessionMetadata["clock"], "realtimeMinusBoottimeNs">>;
  readonly schema: {
    /** The stored event layouts, if any; each field of them lies inside its struct. */
    readonly layouts: Layout[] | undefined;
    /** Stored record type numbers by event name. */
    readonly ev: SessionMetadata["schema"]["ev"];
  };
}

/** One violation of the shape, as a path into frame 0 and what is wrong there. */
export class MetadataError extends Error {}

/** Bounds of the declared shape (docs/REPLAY.md "Limits"): far above what sealtrace writes. */
const MAX_LAYOUTS = 256;
const MAX_FIELDS = 256;
const MAX_STRUCT_BYTES = 4096;
const MAX_EV = 256;
const MAX_BUNDLES = 256;
/** Entries of one bundle's `unavailable`, and characters of each (sealtrace writes a few short lines). */
const MAX_UNAVAILABLE = 32;
const MAX_UNAVAILABLE_CHARS = 300;
/** The clock offset must keep every u64 boot time inside what a Date can show (±8.64e21 ns). */
const MAX_OFFSET_NS = 1n << 63n;

/** Fields replay reads unconditionally, per struct: a stored layout of that struct must have them all. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  st_hdr: ["type", "flags", "ts_ns", "tgid", "pid", "start_ns", "ppid", "uid", "comm"],
  st_fork: ["hdr", "child_tgid", "child_start_ns"],
  st_exec: ["hdr", "filename_len", "argv_len", "cwd_len", "trunc"],
  st_exit: ["hdr", "exit_code", "exit_ns"],
  st_task: ["hdr", "exe_len", "argv_len", "trunc"],
  st_connect: ["hdr", "enter_ns", "ret", "family", "sport", "dport", "saddr", "daddr"],
  st_sock_state: ["hdr", "oldstate", "newstate", "family", "sport", "dport", "saddr", "daddr"],
  st_tcp_event: ["hdr", "state", "family", "sport", "dport", "saddr", "daddr"],
  st_file_open: ["hdr", "dev", "ino", "path_len", "path_flags"],
  st_file_write: ["hdr", "dev", "ino", "bytes", "calls", "first_ns", "last_ns"],
  st_file_op: ["hdr", "ret", "mode", "path_len", "path2_len"],
  st_write_key: ["tgid", "start_ns", "dev", "ino"],
  st_write_val: ["bytes", "calls", "first_ns", "last_ns"],
  st_flow_key: ["family", "saddr", "sport", "daddr", "dport"],
  st_flow_val: ["retransmits", "send_resets", "recv_resets"],
  // Every field replay reads of it (reconstruct.ts, ev.priv).
  st_priv: [
    "hdr",
    "ret",
    "target",
    "arg0",
    "arg1",
    "arg2",
    "arg3",
    ...["new", "old"].flatMap((w) =>
      ["uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid", "cap_eff", "cap_perm"].map((f) => `${w}_${f}`),
    ),
    "aux",
    "op",
    "pflags",
    "str1_len",
    "str2_len",
    "str3_len",
    "aux_comm",
  ],
};

const KINDS = new Set<FieldKind>(["u8", "u16", "u32", "s32", "u64", "str", "bytes", "hdr", "pad"]);

function fail(where: string, what: string): never {
  throw new MetadataError(`${where}: ${what}`);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function optionalMap(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) fail(where, "is not a map");
  return v;
}

function optionalString(v: unknown, where: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") fail(where, "is not a string");
  return v;
}

function list(v: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(where, "is not a list");
  if (v.length > max) fail(where, `has ${v.length} entries, more than ${max}`);
  return v;
}

function wholeNumber(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    fail(where, `is ${describe(v)}, not a whole number in ${min}..${max}`);
  return v;
}

function describe(v: unknown): string {
  if (typeof v === "string") return `a string`;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return Array.isArray(v) ? "a list" : v === null ? "nil" : typeof v;
}

function clockOffset(v: unknown, where: string): bigint {
  if (v === undefined || v === null) return 0n;
  let ns: bigint;
  if (typeof v === "bigint") ns = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) ns = BigInt(v);
  else fail(where, `is ${describe(v)}, not a whole number of nanoseconds`);
  if (ns < -MAX_OFFSET_NS || ns >= MAX_OFFSET_NS) fail(where, `is ${ns}, outside ±2^63 ns`);
  return ns;
}

function layout(v: unknown, where: string): Layout {
  if (!isMap(v)) fail(where, "is not a map");
  const cName = optionalString(v.cName, `${where}.cName`);
  if (cName === "") fail(`${where}.cName`, "is missing");
  const size = wholeNumber(v.size, `${where}.size`, 1, MAX_STRUCT_BYTES);
  const fields: Field[] = list(v.fields, `${where}.fields`, MAX_FIELDS).map((f, i) => {
    const at = `${where}.fields[${i}]`;
    if (!isMap(f)) fail(at, "is not a map");
    const name = optionalString(f.name, `${at}.name`);
    if (typeof f.kind !== "string" || !KINDS.has(f.kind as FieldKind))
      fail(`${at}.kind`, `is ${describe(f.kind)}, not a field kind`);
    const offset = wholeNumber(f.offset, `${at}.offset`, 0, MAX_STRUCT_BYTES);
    const fieldSize = wholeNumber(f.size, `${at}.size`, 0, MAX_STRUCT_BYTES);
    if (offset + fieldSize > size) fail(at, `${name} at ${offset}+${fieldSize} lies outside ${cName} (${size} bytes)`);
    const kind = f.kind as FieldKind;
    // Replay reads each field it knows with one width and signedness (schema.ts READ_KIND): the stored
    // field must be exactly that, so no read runs past the field or the record, nor reads it as another type.
    const read = (READ_KIND as Readonly<Record<string, FieldKind>>)[name];
    const width = readWidth(name);
    if (read !== undefined && kind !== "hdr") {
      if (fieldSize !== width) fail(at, `${name} is ${fieldSize} bytes; replay reads it as ${width}`);
      if (kind !== read) fail(at, `${name} is a ${kind}; replay reads it as a ${read}`);
    }
    const kindBytes = KIND_BYTES[kind];
    if (kindBytes !== undefined && fieldSize !== kindBytes)
      fail(at, `${name} is a ${kind} of ${fieldSize} bytes; a ${kind} has ${kindBytes}`);
    return { name, offset, size: fieldSize, kind };
  });
  for (const name of REQUIRED[cName] ?? [])
    if (!fields.some((f) => f.name === name))
      fail(`${where}.fields`, `${cName} has no field ${name}, which replay reads`);
  return { cName, size, fields };
}

/** Every `hdr` field must hold the whole st_hdr inside its struct. */
function checkHeaders(layouts: readonly Layout[], where: string, builtinHdrBytes: number): void {
  const hdr = layouts.findLast((l) => l.cName === "st_hdr");
  const hdrBytes = hdr?.size ?? builtinHdrBytes;
  for (const [i, l] of layouts.entries()) {
    for (const [j, f] of l.fields.entries()) {
      if (f.kind === "hdr" && f.offset + hdrBytes > l.size)
        fail(
          `${where}[${i}].fields[${j}]`,
          `the ${hdrBytes}-byte header at ${f.offset} lies outside ${l.cName} (${l.size} bytes)`,
        );
    }
  }
}

/**
 * Checks frame 0 against the shape replay relies on. Throws MetadataError naming the first violation,
 * e.g. `schema.layouts[3].fields[2]: …`. `builtinHdrBytes` is this build's st_hdr size.
 */
export function parseSessionMetadata(metadata: unknown, builtinHdrBytes: number): SessionMeta {
  if (!isMap(metadata)) fail("metadata", `is ${describe(metadata)}, not a map`);
  const host = optionalMap(metadata.host, "host");
  const runbook = optionalMap(metadata.runbook, "runbook");
  const clock = optionalMap(metadata.clock, "clock");
  const bundles =
    metadata.bundles === undefined || metadata.bundles === null
      ? []
      : list(metadata.bundles, "bundles", MAX_BUNDLES).map((b, i) => {
          const entry = optionalMap(b, `bundles[${i}]`);
          const name = optionalString(entry.name, `bundles[${i}].name`) || "?";
          const unavailable =
            entry.unavailable === undefined || entry.unavailable === null
              ? []
              : list(entry.unavailable, `bundles[${i}].unavailable`, MAX_UNAVAILABLE).map((w, j) => {
                  const what = optionalString(w, `bundles[${i}].unavailable[${j}]`);
                  if (what.length > MAX_UNAVAILABLE_CHARS)
                    fail(
                      `bundles[${i}].unavailable[${j}]`,
                      `is ${what.length} characters, more than ${MAX_UNAVAILABLE_CHARS}`,
                    );
                  return what;
                });
          return { name, unavailable };
        });
  const schema = optionalMap(metadata.schema, "schema");
  let layouts: Layout[] | undefined;
  if (schema.layouts !== undefined && schema.layouts !== null) {
    layouts = list(schema.layouts, "schema.layouts", MAX_LAYOUTS).map((l, i) => layout(l, `schema.layouts[${i}]`));
    checkHeaders(layouts, "schema.layouts", builtinHdrBytes);
  }
  const ev: Record<string, number> = {};
  const evMap = optionalMap(schema.ev, "schema.ev");
  const evNames = Object.keys(evMap);
  if (evNames.length > MAX_EV) fail("schema.ev", `has ${evNames.length} entries, more than ${MAX_EV}`);
  const seen = new Map<number, string>();
  for (const name of evNames) {
    const type = wholeNumber(evMap[name], `schema.ev.${name}`, 0, 0xffff);
    const other = seen.get(type);
    if (other !== undefined) fail(`schema.ev.${name}`, `is ${type}, the number of ${other} too`);
    seen.set(type, name);
    ev[name] = type;
  }
  return {
    host: {
      hostname: optionalString(host.hostname, "host.hostname"),
      bootId: optionalString(host.bootId, "host.bootId"),
    },
    runbook: { name: optionalString(runbook.name, "runbook.name") },
    bundles,
    clock: {
      realtimeMinusBoottimeNs: clockOffset(clock.realtimeMinusBoottimeNs, "clock.realtimeMinusBoottimeNs"),
    },
    schema: { layouts, ev },
  };
}
