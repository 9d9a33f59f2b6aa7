// Decodes a cgroup v2 path into what owns it: a container (runtime and id), a Kubernetes pod (UID, QoS),
// and the systemd unit or scope. Pure: the path comes from the session, so it is hostile input.

export type ContainerRuntime = "docker" | "containerd" | "cri-o" | "podman" | "cri";
export type PodQos = "guaranteed" | "burstable" | "besteffort";

export interface CgroupOwner {
  /** undefined when no container naming scheme matched. */
  runtime: ContainerRuntime | undefined;
  /** The container id (12 to 64 lowercase hex digits). */
  id: string | undefined;
  /** Podman's container monitor (`libpod-conmon-<id>`), which runs beside the container, not in it. */
  conmon: boolean;
  /** The Kubernetes pod UID, with dashes (systemd slices spell them as underscores). */
  podUid: string | undefined;
  qos: PodQos | undefined;
  /** The deepest systemd unit or scope on the path (`ssh.service`, `session-3.scope`, `docker-<id>.scope`). */
  unit: string | undefined;
}

/** Paths longer than this are not decoded: the kernel's PATH_MAX bounds a real one. */
const MAX_PATH = 4096;
const HEX_ID = "[0-9a-f]{12,64}";

// Each scheme: the systemd-driver scope name, then the cgroupfs-driver directory name (runtime docs:
// docker "cgroup driver", containerd CRI `SystemdCgroup`, CRI-O `cgroup_manager`, podman `--cgroup-manager`).
const SCHEMES: ReadonlyArray<[RegExp, ContainerRuntime, boolean]> = [
  [new RegExp(`^docker-(${HEX_ID})\\.scope$`), "docker", false],
  [new RegExp(`^cri-containerd-(${HEX_ID})\\.scope$`), "containerd", false],
  [new RegExp(`^crio-conmon-(${HEX_ID})\\.scope$`), "cri-o", true],
  [new RegExp(`^crio-(${HEX_ID})(?:\\.scope)?$`), "cri-o", false],
  [new RegExp(`^libpod-conmon-(${HEX_ID})(?:\\.scope)?$`), "podman", true],
  [new RegExp(`^libpod-(${HEX_ID})(?:\\.scope)?$`), "podman", false],
];
const BARE_ID = /^[0-9a-f]{64}$/;
const UNIT = /^[\w:.@\\-]{1,255}\.(?:service|scope)$/;
// kubepods-burstable-pod<uid>.slice (systemd) or pod<uid> (cgroupfs); the UID is 36 chars with dashes.
const POD = /^(?:kubepods-(?:(burstable|besteffort)-)?pod([0-9a-f_]{36})\.slice|pod([0-9a-f-]{36}))$/;

/** What owns the cgroup at `path` (a cgroup v2 path from its mount point, `/a/b`). Never throws. */
export function decodeCgroupPath(path: string): CgroupOwner {
  const out: CgroupOwner = {
    runtime: undefined,
    id: undefined,
    conmon: false,
    podUid: undefined,
    qos: undefined,
    unit: undefined,
  };
  if (path.length > MAX_PATH) return out;
  const parts = path.split("/").filter((p) => p.length > 0);
  const kubeAt = parts.findIndex((p) => p === "kubepods.slice" || p === "kubepods");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (UNIT.test(part)) out.unit = part;
    if (kubeAt >= 0 && i > kubeAt) {
      const pod = POD.exec(part);
      if (pod) {
        out.podUid = pod[2] !== undefined ? pod[2].replaceAll("_", "-") : pod[3];
        // Guaranteed pods sit directly under kubepods: they have no QoS level of their own.
        const qosDir = parts[i - 1];
        out.qos =
          pod[1] !== undefined
            ? (pod[1] as PodQos)
            : qosDir === "burstable" || qosDir === "besteffort"
              ? qosDir
              : "guaranteed";
        continue;
      }
    }
    // The deepest container component wins: podman nests `libpod-<id>.scope/container`, and a
    // container inside a container shows both.
    for (const [re, runtime, conmon] of SCHEMES) {
      const m = re.exec(part);
      if (m) {
        out.runtime = runtime;
        out.id = m[1];
        out.conmon = conmon;
        break;
      }
    }
    if (BARE_ID.test(part)) {
      const parent = parts[i - 1];
      if (parent === "docker") out.runtime = "docker";
      else if (out.podUid !== undefined) out.runtime = "cri";
      else continue;
      out.id = part;
      out.conmon = false;
    }
  }
  return out;
}

/** The short text views show: `docker:0123456789ab`, `k8s:<pod 8>/<id 12>`, a unit name, or "". */
export function ownerLabel(o: CgroupOwner | undefined): string {
  if (!o) return "";
  if (o.id !== undefined) {
    const ctr = `${o.runtime}${o.conmon ? "-conmon" : ""}:${o.id.slice(0, 12)}`;
    return o.podUid !== undefined ? `pod:${o.podUid.slice(0, 8)}/${ctr}` : ctr;
  }
  if (o.podUid !== undefined) return `pod:${o.podUid.slice(0, 8)}`;
  return o.unit ?? "";
}
