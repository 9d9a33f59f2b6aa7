// Cgroup paths decoded into container runtime and id, pod UID and QoS, and systemd unit; replay joining
// them (and sealed user names) to processes; the --container, --unit and --user filters.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeCgroupPath, ownerLabel } from "../../src/replay/container.js";
import { HDR } from "../../src/events/layouts.js";
import { parseSessionMetadata } from "../../src/replay/metadata.js";
import { Reconstructor } from "../../src/replay/reconstruct.js";
import { applyFilter } from "../../src/replay/filter.js";
import { replayDocument } from "../../src/replay/document.js";
import * as E from "./replay-encode.js";
import { terminalText } from "../../src/replay/text/style.js";
import { stateLines } from "../../src/replay/text/state.js";
import { processLines } from "../../src/replay/text/process.js";
import { stateAt } from "../../src/replay/state.js";
import { processDetail } from "../../src/replay/focus.js";

const ID = "0123456789abcdef".repeat(4);
const ID2 = "fedcba9876543210".repeat(4);
const UID = "8a4c2f1e-3b5d-4c6e-9f70-1a2b3c4d5e6f";
const UID_ = UID.replaceAll("-", "_");

const CASES: Array<[string, string, Partial<ReturnType<typeof decodeCgroupPath>>]> = [
  [
    "docker, systemd driver",
    `/system.slice/docker-${ID}.scope`,
    { runtime: "docker", id: ID, unit: `docker-${ID}.scope` },
  ],
  ["docker, cgroupfs driver", `/docker/${ID}`, { runtime: "docker", id: ID, unit: undefined }],
  ["containerd", `/system.slice/cri-containerd-${ID}.scope`, { runtime: "containerd", id: ID }],
  ["CRI-O", `/machine.slice/crio-${ID}.scope`, { runtime: "cri-o", id: ID }],
  ["CRI-O conmon", `/machine.slice/crio-conmon-${ID}.scope`, { runtime: "cri-o", id: ID, conmon: true }],
  ["podman", `/machine.slice/libpod-${ID}.scope`, { runtime: "podman", id: ID, conmon: false }],
  ["podman nested init cgroup", `/machine.slice/libpod-${ID}.scope/container`, { runtime: "podman", id: ID }],
  ["podman conmon", `/machine.slice/libpod-conmon-${ID}.scope`, { runtime: "podman", id: ID, conmon: true }],
  [
    "rootless podman",
    `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`,
    { runtime: "podman", id: ID, unit: `libpod-${ID}.scope` },
  ],
  [
    "k8s burstable, containerd",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { runtime: "containerd", id: ID, podUid: UID, qos: "burstable" },
  ],
  [
    "k8s besteffort, CRI-O",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
    { runtime: "cri-o", id: ID, podUid: UID, qos: "besteffort" },
  ],
  [
    "k8s guaranteed",
    `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { runtime: "containerd", id: ID, podUid: UID, qos: "guaranteed" },
  ],
  [
    "k8s cgroupfs driver",
    `/kubepods/burstable/pod${UID}/${ID}`,
    { runtime: "cri", id: ID, podUid: UID, qos: "burstable" },
  ],
  ["k8s cgroupfs guaranteed", `/kubepods/pod${UID}/${ID}`, { runtime: "cri", id: ID, podUid: UID, qos: "guaranteed" }],
  [
    "k8s pod sandbox slice only",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`,
    { runtime: undefined, id: undefined, podUid: UID },
  ],
  [
    "systemd service",
    "/system.slice/ssh.service",
    { runtime: undefined, id: undefined, unit: "ssh.service", podUid: undefined },
  ],
  ["login session scope", "/user.slice/user-1000.slice/session-3.scope", { unit: "session-3.scope" }],
  ["user manager", "/user.slice/user-1000.slice/user@1000.service/init.scope", { unit: "init.scope" }],
  ["root cgroup", "/", { runtime: undefined, id: undefined, unit: undefined, podUid: undefined }],
  // Near misses are not containers.
  ["short id", "/system.slice/docker-0123abc.scope", { runtime: undefined, id: undefined }],
  ["upper-case id", `/system.slice/docker-${ID.toUpperCase()}.scope`, { runtime: undefined }],
  ["bare 64-hex outside docker and kubepods", `/sealtrace/${ID}`, { runtime: undefined, id: undefined }],
  ["pod name outside kubepods", `/foo/pod${UID}`, { podUid: undefined }],
];

for (const [name, path, want] of CASES) {
  test(`decodeCgroupPath: ${name}`, () => {
    const got = decodeCgroupPath(path);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${k} of ${path}`);
  });
}

test("decodeCgroupPath never throws, and its label never carries a control character, on hostile paths", () => {
  const part = fc.oneof(
    fc.string(),
    fc.constantFrom(
      "kubepods.slice",
      "kubepods",
      "docker",
      `docker-${ID}.scope`,
      `pod${UID}`,
      "x\u001b[2J.scope",
      "a\u202e.service",
    ),
  );
  fc.assert(
    fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
      const o = decodeCgroupPath(`/${parts.join("/")}`);
      assert.doesNotMatch(ownerLabel(o), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }),
    { numRuns: 3000 },
  );
  assert.equal(decodeCgroupPath(`/${"a/".repeat(5000)}docker-${ID}.scope`).id, undefined, "over PATH_MAX: not decoded");
});

test("ownerLabel: container, pod and unit forms", () => {
  assert.equal(ownerLabel(decodeCgroupPath(`/system.slice/docker-${ID}.scope`)), `docker:${ID.slice(0, 12)}`);
  assert.equal(
    ownerLabel(decodeCgroupPath(`/kubepods/pod${UID}/${ID}`)),
    `pod:${UID.slice(0, 8)}/cri:${ID.slice(0, 12)}`,
  );
  assert.equal(ownerLabel(decodeCgroupPath("/system.slice/ssh.service")), "ssh.service");
  assert.equal(ownerLabel(undefined), "");
});

const S = 1_000_000_000n;

/** Two processes in two cgroups, one of them in a container, under a sealed passwd; hostile entries mixed in. */
function replayWithOwners() {
  const r = new Reconstructor();
  r.beginSession(
    "x.sealed",
    "00",
    parseSessionMetadata({ host: { hostname: "h", bootId: "b0b0b0b0-0000" } }, HDR.size),
  );
  r.record({ k: "attach", t: 1n * S, startT: 1n * S });
  r.record({
    k: "cgroups",
    t: 1n * S,
    entries: [
      { id: 11n, path: `/system.slice/docker-${ID}.scope` },
      { id: 12, path: "/system.slice/ssh.service" },
      { id: "13", path: "/bad-id" },
      { id: 14n, path: 7 },
      null,
      { id: 15n, path: "relative" },
    ],
  });
  r.record({
    k: "proc-cgroups",
    t: 1n * S,
    entries: [
      { pid: 400, path: `/kubepods/pod${UID}/${ID2}` },
      { pid: 401, path: "/x.service" },
      { pid: -4, path: "/y" },
      { pid: 402, path: 5 },
    ],
  });
  r.record({
    k: "start",
    b: "exec",
    it: "exec_snapshot",
    t: 1n * S,
    d: E.frame([E.task(1n * S, { tgid: 400, start: 1n, comm: "app" }, "/app", ["app"])]),
  });
  r.record({
    k: "users",
    t: 1n * S,
    passwd: {
      path: "/etc/passwd",
      sha256: "ab".repeat(32),
      bytes: 100,
      entries: [
        { id: 0, name: "root" },
        { id: 65534, name: "nobody" },
        { id: 65534, name: "shadowed" },
        { id: 1000, name: "evil\u001b[2J" },
        { id: -1, name: "neg" },
      ],
    },
    group: "not an object",
  });
  r.record(
    E.ring("exec", 3n * S, [
      E.exec(2n * S, { tgid: 500, start: 2n * S, comm: "nginx", uid: 65534, cgroup: 11n }, "/usr/sbin/nginx", [
        "nginx",
      ]),
      E.exec(2n * S + 5n, { tgid: 600, start: 2n * S, comm: "sshd", uid: 0, cgroup: 12n }, "/usr/sbin/sshd", ["sshd"]),
      E.exec(2n * S + 9n, { tgid: 700, start: 2n * S, comm: "odd", uid: 1000, cgroup: 99n }, "/odd", ["odd"]),
    ]),
  );
  r.endSession({ status: "SEALED", reason: "", framesGood: 3 }, { endReason: "duration" });
  return r.finish();
}

test("replay joins each process to its cgroup's owner and its uid's sealed name; hostile entries are skipped", () => {
  const doc = replayDocument(replayWithOwners());
  const by = new Map(doc.processes.map((p) => [p.comm, p]));
  assert.deepEqual(by.get("nginx")!.container, {
    runtime: "docker",
    id: ID,
    conmon: false,
    podUid: null,
    qos: null,
    unit: `docker-${ID}.scope`,
  });
  assert.equal(by.get("nginx")!.user, "nobody", "the first entry for a uid wins");
  assert.equal(by.get("nginx")!.cgroupId, "11");
  assert.equal(by.get("sshd")!.container!.unit, "ssh.service");
  assert.equal(by.get("sshd")!.user, "root");
  assert.equal(by.get("odd")!.container, null, "an id no cgroups record names");
  assert.equal(by.get("odd")!.user, null, "a name with control characters is not sealed into views");
  assert.deepEqual(
    doc.sessions[0]!.accountFiles,
    [{ path: "/etc/passwd", sha256: "ab".repeat(32), bytes: 100, entries: 5, error: null }],
    "the malformed group file is not listed",
  );
  assert.equal(by.get("app")!.cgroupId, null, "the start iterator's records carry no cgroup id");
  assert.deepEqual(
    by.get("app")!.container,
    { runtime: "cri", id: ID2, conmon: false, podUid: UID, qos: "guaranteed", unit: null },
    "from proc-cgroups",
  );
});

test("--container, --unit and --user select processes", () => {
  const r = replayWithOwners();
  const comms = (f: Parameters<typeof applyFilter>[1]) =>
    applyFilter(r, f)
      .processes.map((p) => p.comm)
      .sort();
  assert.deepEqual(comms({ containers: [ID.slice(0, 6)] }), ["nginx"]);
  assert.deepEqual(comms({ containers: ["ffff"] }), []);
  assert.deepEqual(comms({ containers: [UID.slice(0, 8)] }), ["app"], "a pod UID prefix");
  assert.deepEqual(comms({ units: ["ssh"] }), ["sshd"]);
  assert.deepEqual(comms({ units: ["ssh.service"] }), ["sshd"]);
  assert.deepEqual(comms({ users: ["nobody"] }), ["nginx"]);
  assert.deepEqual(comms({ users: ["1000"] }), ["odd"]);
  assert.deepEqual(comms({ users: ["root", "nobody"] }), ["app", "nginx", "sshd"]);
});

test("the --at and process views show the short owner column the tree shows; none without owners", () => {
  const r = replayWithOwners();
  const text = (lines: Parameters<typeof terminalText>[0]) => terminalText(lines, false);
  const row = (out: string, what: string) => out.split("\n").find((l) => l.includes(what)) ?? "";
  const state = text(stateLines(r, stateAt(r, 2n * S + 10n + E.OFFSET_NS), true));
  assert.match(state, /comm {13}owner/);
  assert.match(row(state, "nginx"), new RegExp(`docker:${ID.slice(0, 12)} `));
  const nginx = r.processes.find((p) => p.comm === "nginx")!;
  assert.match(text(processLines(r, processDetail(r, nginx))), new RegExp(`owner +docker:${ID.slice(0, 12)}`));
  // A session without cgroup owners gets no column.
  const bare = { ...r, processes: r.processes.map((p) => ({ ...p, container: undefined })) };
  assert.doesNotMatch(text(stateLines(bare, stateAt(bare, 2n * S + 10n + E.OFFSET_NS), true)), /owner/);
});
