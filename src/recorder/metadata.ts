// Chain-of-custody metadata for frame 0: who, where, when, with what tool, runbook and objects.
import { hostname, release, userInfo } from "node:os";
import { readFileSync } from "node:fs";
import { VERSION } from "../version.js";
import { readProvenance } from "../provenance.js";
import { ALL_LAYOUTS, EV } from "../events/layouts.js";
import { realtimeOffsetNs } from "../libbpf/clock.js";
import type { Runbook } from "../runbook/runbook.js";
import type { Filters } from "../bundles/spec.js";
import { RECORD_KINDS, type BundleInfo, type Operator, type SessionMetadata } from "../session/records.js";

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function currentOperator(): Operator {
  const op: Operator = { uid: process.getuid?.() ?? -1, user: userInfo().username };
  if (process.env.SUDO_USER) op.sudoUser = process.env.SUDO_USER;
  if (process.env.SUDO_UID) op.sudoUid = Number(process.env.SUDO_UID);
  return op;
}

export function buildMetadata(args: {
  runbook: Runbook;
  bundles: BundleInfo[];
  filters: Filters;
  incident?: string;
  durationMs: number;
}): SessionMetadata {
  const host: SessionMetadata["host"] = { hostname: hostname(), kernel: release() };
  const bootId = readTrim("/proc/sys/kernel/random/boot_id");
  if (bootId) host.bootId = bootId;
  const machineId = readTrim("/etc/machine-id");
  if (machineId) host.machineId = machineId;
  const kv = readTrim("/proc/version");
  if (kv) host.kernelVersion = kv;
  const md: SessionMetadata = {
    tool: { name: "sealtrace", version: VERSION, node: process.version },
    build: readProvenance(),
    host,
    operator: currentOperator(),
    runbook: {
      name: args.runbook.name,
      path: args.runbook.source.path,
      sha256: args.runbook.source.sha256,
      text: args.runbook.source.text,
    },
    bundles: args.bundles,
    filters: JSON.parse(JSON.stringify(args.filters, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as Record<
      string,
      unknown
    >,
    clock: { realtimeMinusBoottimeNs: realtimeOffsetNs(), startedAt: new Date().toISOString() },
    schema: {
      ev: { ...EV },
      layouts: ALL_LAYOUTS,
      recordKinds: [...RECORD_KINDS],
    },
    durationMs: args.durationMs,
    recorderTgid: process.pid,
  };
  if (args.incident) md.incident = args.incident;
  return md;
}
