// The field mapping (docs/HUNT.md): replay's rebuilt processes, connections and files as Sigma events of
// the Linux taxonomy. Events are made one at a time, so a large session never holds them all.
import type {
  Connection,
  ExecImage,
  FileActivity,
  FileOp,
  PrivilegeEvent,
  ProcessEntity,
  Replay,
} from "../replay/model.js";
import { gained, privilegeArgs, privilegeKind } from "../replay/privilege.js";
import { type Category, type FieldValue, SigmaEvent } from "./event.js";

/** The image a process ran at `timeNs`: its latest exec by then, else its earliest known one. */
export function imageAt(p: ProcessEntity, timeNs: bigint): ExecImage | undefined {
  let best: ExecImage | undefined;
  for (const e of p.execs) if (e.timeNs <= timeNs || e.origin === "snapshot") best = e;
  return best ?? p.execs[0];
}

export function commandLine(e: ExecImage): string {
  return e.argv.length > 0 ? e.argv.join(" ") : e.filename;
}

type Fields = Record<string, FieldValue | undefined>;

export class EventSource {
  private readonly byId: Map<string, ProcessEntity>;
  constructor(private readonly r: Replay) {
    this.byId = new Map(r.processes.map((p) => [p.id, p]));
  }

  process(id: string | undefined): ProcessEntity | undefined {
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** The fields every category takes from the acting process at `timeNs`. */
  private actor(p: ProcessEntity | undefined, timeNs: bigint): Fields {
    if (!p) return {};
    const img = imageAt(p, timeNs);
    const parent = this.process(p.parentId);
    const pimg = parent ? imageAt(parent, timeNs) : undefined;
    return {
      Image: img?.filename,
      CommandLine: img ? commandLine(img) : undefined,
      User: String(p.uid),
      ProcessId: p.pid,
      ParentProcessId: p.ppid,
      ParentImage: pimg?.filename,
      Comm: p.comm,
    };
  }

  /** Every event of the categories asked for, category by category. */
  *events(categories: ReadonlySet<Category>): Generator<SigmaEvent> {
    if (categories.has("process_creation")) for (const p of this.r.processes) yield* this.execs(p);
    if (categories.has("network_connection"))
      for (const c of this.r.connections) {
        const e = this.connection(c);
        if (e) yield e;
      }
    if (categories.has("file_event"))
      for (const f of this.r.files) {
        if (f.firstNs === undefined) continue;
        yield new SigmaEvent("file_event", f.firstNs, f.processId, {
          ...this.actor(this.process(f.processId), f.firstNs),
          TargetFilename: f.path,
          Bytes: Number(f.bytes),
          Writes: Number(f.writes),
        });
      }
    if (categories.has("file_delete") || categories.has("file_rename")) yield* this.fileOps(categories);
    if (categories.has("privilege")) for (const e of this.r.privilege) yield this.privilege(e);
  }

  private privilege(e: PrivilegeEvent): SigmaEvent {
    const target = this.process(e.targetId);
    const timg = target ? imageAt(target, e.timeNs) : undefined;
    const g = gained(e);
    const fields: Fields = {
      ...this.actor(this.process(e.processId), e.timeNs),
      ProcessId: e.pid,
      Comm: e.comm,
      Syscall: e.syscall,
      Kind: privilegeKind(e.op).slice("privilege.".length),
      Result: e.ret,
      Success: e.ret >= 0 ? "true" : "false",
      Escalation: g.length > 0 ? "true" : "false",
      Gained: g.length > 0 ? g.join(", ") : undefined,
      Uid: e.after.uid,
      Euid: e.after.euid,
      OldUid: e.before?.uid,
      OldEuid: e.before?.euid,
      CapEffective: `0x${e.after.capEffective.toString(16)}`,
      OldCapEffective: e.before ? `0x${e.before.capEffective.toString(16)}` : undefined,
      TargetProcessId: e.target !== 0 ? e.target : undefined,
      TargetImage: timg?.filename,
      TargetComm: e.targetComm,
    };
    for (const [k, v] of Object.entries(privilegeArgs(e)))
      if (v !== null) fields[`Arg${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
    return new SigmaEvent("privilege", e.timeNs, e.processId, fields);
  }

  private *execs(p: ProcessEntity): Generator<SigmaEvent> {
    const parent = this.process(p.parentId);
    for (const e of p.execs) {
      if (e.origin === "snapshot") continue; // running before the recording: not a creation we saw
      const pimg = parent ? imageAt(parent, e.timeNs) : undefined;
      yield new SigmaEvent("process_creation", e.timeNs, p.id, {
        Image: e.filename,
        CommandLine: commandLine(e),
        CommandLineTruncated: e.argvTruncated ? "true" : "false",
        CurrentDirectory: e.cwd,
        User: String(p.uid),
        ProcessId: p.pid,
        ParentProcessId: p.ppid,
        ParentImage: pimg?.filename,
        ParentCommandLine: pimg ? commandLine(pimg) : undefined,
        Comm: p.comm,
      });
    }
  }

  private connection(c: Connection): SigmaEvent | undefined {
    if (c.origin === "snapshot" || (c.direction !== "outbound" && c.direction !== "inbound")) return undefined;
    const timeNs = c.startNs ?? c.establishedNs ?? c.endNs;
    if (timeNs === undefined) return undefined;
    const out = c.direction === "outbound";
    // Source is the side that initiated: replay's saddr/sport are always this host's end.
    const [src, sport, dst, dport] = out ? [c.saddr, c.sport, c.daddr, c.dport] : [c.daddr, c.dport, c.saddr, c.sport];
    const from = c.establishedNs ?? c.startNs;
    const owner = this.process(c.processId);
    // A close the kernel made in softirq context can be filtered out with the process: the socket then
    // ended at the latest when its owner exited.
    const end = c.endNs ?? owner?.exitNs;
    const actor = this.actor(owner, timeNs);
    return new SigmaEvent("network_connection", timeNs, c.processId, {
      ...actor,
      ProcessId: actor.ProcessId ?? (c.pid || undefined),
      Comm: actor.Comm ?? (c.comm || undefined),
      Protocol: c.protocol,
      Initiated: out ? "true" : "false",
      SourceIp: src,
      SourcePort: sport,
      DestinationIp: dst,
      DestinationPort: dport,
      DestinationIsIpv6: c.family === "ipv6" ? "true" : "false",
      Outcome: c.outcome,
      Retransmits: c.retransmits,
      Resets: c.resets,
      DurationMs:
        from !== undefined && end !== undefined && end >= from ? Number((end - from) / 1_000_000n) : undefined,
    });
  }

  private *fileOps(categories: ReadonlySet<Category>): Generator<SigmaEvent> {
    // An op is listed under every writer of its path: each is made once, for the process that called it.
    const seen = new Set<FileOp>();
    for (const f of this.r.files as FileActivity[]) {
      for (const op of f.ops) {
        if (op.ret < 0 || seen.has(op)) continue;
        seen.add(op);
        const actorId = op.actorId ?? f.processId;
        const actor = this.actor(this.process(actorId), op.timeNs);
        if (op.kind === "delete" && categories.has("file_delete")) {
          yield new SigmaEvent("file_delete", op.timeNs, actorId, { ...actor, TargetFilename: op.path });
        } else if (op.kind === "rename" && categories.has("file_rename")) {
          yield new SigmaEvent("file_rename", op.timeNs, actorId, {
            ...actor,
            SourceFilename: op.path,
            TargetFilename: op.newPath,
          });
        }
      }
    }
  }
}
