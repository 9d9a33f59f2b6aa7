// A Sigma event: the fields one rule sees (docs/HUNT.md), with the replay entity it came from.

/** The privilege category's argument fields: `Arg` + each name replay gives the call's arguments (replay/privilege.ts). */
export const PRIVILEGE_ARG_FIELDS = [
  "uid",
  "gid",
  "ruid",
  "euid",
  "suid",
  "rgid",
  "egid",
  "sgid",
  "fsuid",
  "fsgid",
  "request",
  "pid",
  "addr",
  "length",
  "params",
  "fd",
  "path",
  "flags",
  "name",
  "cmd",
  "type",
  "source",
  "target",
  "fstype",
  "newRoot",
  "putOld",
  "nstype",
  "nsInode",
  "option",
  "oldName",
  "signal",
  "tgid",
  "tid",
  "pidfd",
].map((k) => `Arg${k[0]!.toUpperCase()}${k.slice(1)}`);

export const CATEGORIES = [
  "process_creation",
  "network_connection",
  "file_event",
  "file_delete",
  "file_rename",
  "privilege",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The fields each category carries (docs/HUNT.md). A rule naming any other field is not evaluated. */
export const CATEGORY_FIELDS: Record<Category, readonly string[]> = {
  process_creation: [
    "Image",
    "CommandLine",
    "CurrentDirectory",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "ParentCommandLine",
    "Comm",
    "CommandLineTruncated",
  ],
  network_connection: [
    "Image",
    "CommandLine",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "Protocol",
    "Initiated",
    "SourceIp",
    "SourcePort",
    "DestinationIp",
    "DestinationPort",
    "DestinationIsIpv6",
    "Outcome",
    "Retransmits",
    "Resets",
    "DurationMs",
    "Comm",
  ],
  file_event: [
    "TargetFilename",
    "Image",
    "CommandLine",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "Bytes",
    "Writes",
    "Comm",
  ],
  file_delete: [
    "TargetFilename",
    "Image",
    "CommandLine",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "Comm",
  ],
  file_rename: [
    "SourceFilename",
    "TargetFilename",
    "Image",
    "CommandLine",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "Comm",
  ],
  // A sealtrace category (the privilege bundle): one event per recorded call, failed ones included.
  privilege: [
    "Image",
    "CommandLine",
    "User",
    "ProcessId",
    "ParentProcessId",
    "ParentImage",
    "Comm",
    "Syscall",
    "Kind",
    "Result",
    "Success",
    "Escalation",
    "Gained",
    "Uid",
    "Euid",
    "OldUid",
    "OldEuid",
    "CapEffective",
    "OldCapEffective",
    "TargetProcessId",
    "TargetImage",
    "TargetComm",
    ...PRIVILEGE_ARG_FIELDS,
  ],
};

/** The bundle a category's events come from: without it in any session, its rules are not evaluated. */
export const CATEGORY_BUNDLE: Record<Category, string> = {
  process_creation: "exec",
  network_connection: "connect",
  file_event: "filewrite",
  file_delete: "filewrite",
  file_rename: "filewrite",
  privilege: "privilege",
};

export type FieldValue = string | number;

export class SigmaEvent {
  private lowered: Map<string, string> | undefined;
  constructor(
    readonly category: Category,
    readonly timeNs: bigint,
    /** The replay process it belongs to, when known. */
    readonly processId: string | undefined,
    readonly fields: Readonly<Record<string, FieldValue | undefined>>,
  ) {}

  has(name: string): boolean {
    return this.fields[name] !== undefined;
  }

  /** The field as text (numbers in decimal), or undefined when absent. */
  text(name: string): string | undefined {
    const v = this.fields[name];
    return v === undefined ? undefined : typeof v === "string" ? v : String(v);
  }

  /** The field lower-cased, computed once per event and field: hundreds of rules test the same fields. */
  lower(name: string): string | undefined {
    let m = this.lowered;
    const hit = m?.get(name);
    if (hit !== undefined) return hit;
    const t = this.text(name);
    if (t === undefined) return undefined;
    const l = t.toLowerCase();
    (m ??= this.lowered = new Map()).set(name, l);
    return l;
  }

  private values: string[] | undefined;

  /** Every present field's text, lower-cased, made once per event: unfielded keywords search them all. */
  lowerValues(): readonly string[] {
    if (this.values) return this.values;
    const out: string[] = [];
    for (const k in this.fields) {
      const l = this.lower(k);
      if (l !== undefined) out.push(l);
    }
    return (this.values = out);
  }
}
