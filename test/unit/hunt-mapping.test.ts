// The field mapping (docs/HUNT.md) on a hand-built replay: what each category's events carry, the parent's
// image at the event's time, inbound source/destination, and file ops attributed once, to their caller.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Connection, ExecImage, FileActivity, FileOp, ProcessEntity, Replay } from "../../src/replay/model.js";
import { EventSource } from "../../src/hunt/timeline.js";
import { CATEGORIES, type SigmaEvent } from "../../src/hunt/event.js";

const img = (
  timeNs: bigint,
  filename: string,
  argv: string[],
  origin: ExecImage["origin"] = "observed",
): ExecImage => ({ timeNs, filename, argv, argvTruncated: false, cwd: "/root", origin });

function proc(
  pid: number,
  parent: ProcessEntity | undefined,
  execs: ExecImage[],
  extra: Partial<ProcessEntity> = {},
): ProcessEntity {
  return {
    id: `h:${pid}:1`,
    host: "h",
    pid,
    ppid: parent?.pid ?? 0,
    parentId: parent?.id,
    parentOrigin: "observed",
    reparentedFrom: undefined,
    startNs: 10n,
    startBootNs: 1n,
    comm: execs.at(-1)?.filename.split("/").pop() ?? "?",
    uid: 1000,
    origin: "observed",
    execs,
    exitNs: undefined,
    exitCode: undefined,
    exitSignal: undefined,
    forkNs: 10n,
    user: undefined,
    cgroupId: undefined,
    cgroupPath: undefined,
    container: undefined,
    ...extra,
  };
}

function conn(p: ProcessEntity, direction: Connection["direction"], extra: Partial<Connection> = {}): Connection {
  return {
    id: `c-${direction}`,
    host: "h",
    sockId: 1n,
    processId: p.id,
    pid: p.pid,
    comm: p.comm,
    protocol: "tcp",
    family: "ipv4",
    saddr: "10.0.0.1",
    sport: 40000,
    daddr: "192.0.2.7",
    dport: 4444,
    direction,
    origin: "observed",
    startNs: 300n,
    establishedNs: 1_000_300n,
    endNs: 3_001_000_300n,
    outcome: "established",
    errno: undefined,
    retransmits: 25,
    resets: 0,
    retransmitTimes: undefined,
    resetTimes: undefined,
    connectSeen: true,
    resetInSynSent: false,
    closedFromState: undefined,
    closeErr: undefined,
    snapshotNs: undefined,
    seq: 1,
    flowKey: undefined,
    flowPending: false,
    ...extra,
  };
}

function file(p: ProcessEntity, path: string, ops: FileOp[], firstNs?: bigint): FileActivity {
  return {
    id: `f-${p.pid}-${path}`,
    host: "h",
    processId: p.id,
    pid: p.pid,
    comm: p.comm,
    path,
    dev: 1n,
    ino: 2n,
    bytes: 12n,
    writes: 3n,
    firstNs,
    lastNs: firstNs,
    deleted: false,
    renamedTo: undefined,
    ops,
    pathTruncated: false,
  };
}

// A shell that later execs into python (exec without fork), and its child that starts in between.
const shell = proc(
  100,
  undefined,
  [img(5n, "/usr/bin/bash", ["bash"], "snapshot"), img(500n, "/usr/bin/python3", ["python3", "-c", "x"])],
  { origin: "snapshot" },
);
const child = proc(200, shell, [img(200n, "/usr/bin/curl", ["curl", "http://x"])]);
const other = proc(300, shell, [img(600n, "/usr/bin/rm", ["rm", "/tmp/a"])]);
const del: FileOp = {
  kind: "delete",
  timeNs: 700n,
  path: "/tmp/a",
  newPath: undefined,
  mode: undefined,
  ret: 0,
  actorId: other.id,
};
const ren: FileOp = {
  kind: "rename",
  timeNs: 800n,
  path: "/tmp/b",
  newPath: "/etc/cron.d/b",
  mode: undefined,
  ret: 0,
  actorId: other.id,
};
const failed: FileOp = {
  kind: "delete",
  timeNs: 900n,
  path: "/tmp/c",
  newPath: undefined,
  mode: undefined,
  ret: -2,
  actorId: other.id,
};
const replay: Replay = {
  sessions: [],
  processes: [shell, child, other],
  connections: [
    conn(child, "outbound"),
    conn(child, "inbound", { id: "c-in", endNs: undefined }),
    conn(child, "listen", { id: "c-l" }),
  ],
  // The delete is listed under the writer of /tmp/a (child) as well as under the caller (other).
  files: [file(child, "/tmp/a", [del], 400n), file(other, "/tmp/a", [del, ren, failed])],
  privilege: [],
  losses: [],
};

const events = [...new EventSource(replay).events(new Set(CATEGORIES))];
const of = (c: string): SigmaEvent[] => events.filter((e) => e.category === c);

test("process_creation: one event per observed exec, with the parent's image at that time", () => {
  const pc = of("process_creation");
  assert.deepEqual(
    pc.map((e) => e.text("Image")),
    ["/usr/bin/python3", "/usr/bin/curl", "/usr/bin/rm"],
    "the snapshot image is not a creation",
  );
  const curl = pc.find((e) => e.text("Image") === "/usr/bin/curl")!;
  assert.equal(curl.text("CommandLine"), "curl http://x");
  assert.equal(curl.text("ParentImage"), "/usr/bin/bash", "the parent was still bash at 200 ns");
  assert.equal(curl.text("ParentCommandLine"), "bash");
  assert.equal(curl.text("User"), "1000");
  assert.equal(curl.text("ProcessId"), "200");
  assert.equal(curl.text("ParentProcessId"), "100");
  assert.equal(curl.text("CurrentDirectory"), "/root");
  const rm = pc.find((e) => e.text("Image") === "/usr/bin/rm")!;
  assert.equal(rm.text("ParentImage"), "/usr/bin/python3", "by 600 ns the parent had exec'd python");
});

test("network_connection: outbound and inbound with the initiator as source; listeners left out", () => {
  const nc = of("network_connection");
  assert.equal(nc.length, 2);
  const out = nc.find((e) => e.text("Initiated") === "true")!;
  assert.deepEqual(
    [out.text("SourceIp"), out.text("SourcePort"), out.text("DestinationIp"), out.text("DestinationPort")],
    ["10.0.0.1", "40000", "192.0.2.7", "4444"],
  );
  assert.equal(out.text("DurationMs"), "3000");
  assert.equal(out.text("Retransmits"), "25");
  assert.equal(out.text("Image"), "/usr/bin/curl");
  assert.equal(out.text("DestinationIsIpv6"), "false");
  const inbound = nc.find((e) => e.text("Initiated") === "false")!;
  assert.deepEqual(
    [inbound.text("SourceIp"), inbound.text("DestinationIp"), inbound.text("DestinationPort")],
    ["192.0.2.7", "10.0.0.1", "40000"],
  );
  assert.equal(inbound.has("DurationMs"), false, "no close and no exit: unknown");
});

test("file events: writes per file; a delete or rename once, for its caller; failed calls left out", () => {
  assert.deepEqual(
    of("file_event").map((e) => [e.text("TargetFilename"), e.text("Bytes"), e.text("Image")]),
    [["/tmp/a", "12", "/usr/bin/curl"]],
  );
  const d = of("file_delete");
  assert.equal(d.length, 1);
  assert.equal(d[0]!.text("Image"), "/usr/bin/rm");
  assert.equal(d[0]!.processId, other.id);
  const r = of("file_rename");
  assert.deepEqual(
    r.map((e) => [e.text("SourceFilename"), e.text("TargetFilename")]),
    [["/tmp/b", "/etc/cron.d/b"]],
  );
});
