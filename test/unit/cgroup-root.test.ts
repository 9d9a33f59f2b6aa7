// Finding the cgroup v2 mount: unified hosts, systemd's hybrid layout, and no cgroup2 at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Root } from "../../src/recorder/cgroups.js";
import { tempDir } from "./session-helpers.js";

const HYBRID = [
  "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");
const UNIFIED = [
  "25 22 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate",
  "90 60 0:22 / /var/lib/docker/overlay/x/sys/fs/cgroup ro - cgroup2 cgroup2 rw",
].join("\n");
const NONE =
  "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu";

test("cgroup2Root: the unified mount, the hybrid /sys/fs/cgroup/unified, or none", () => {
  const { dir, cleanup } = tempDir("cgroot");
  try {
    const at = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return cgroup2Root(p);
    };
    assert.equal(at("hybrid", HYBRID), "/sys/fs/cgroup/unified");
    assert.equal(at("unified", UNIFIED), "/sys/fs/cgroup");
    assert.equal(at("none", NONE), undefined);
    assert.equal(at("escaped", "40 30 0:37 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw"), "/mnt/cg two");
  } finally {
    cleanup();
  }
});
