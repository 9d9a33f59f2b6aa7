// The exec record's executable identity on the real kernel: dev, inode, size, times and the deleted,
// fileless and world-writable-directory flags, for a normal binary, a deleted copy, a memfd and an O_TMPFILE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXEC_BUNDLE } from "../../src/bundles/exec.js";
import { EV, EXE_FLAG } from "../../src/events/layouts.js";
import type { DecodedRecord } from "../../src/replay/decode.js";
import { capture, tailText } from "../helpers/bundle.js";
import { paused } from "../helpers/proc.js";
import { kernelDev } from "../../src/recorder/hasher.js";

const execsOf = (rs: DecodedRecord[], pid: number) => rs.filter((r) => r.type === EV.exec && r.tgid === pid);
const filename = (r: DecodedRecord) => tailText(r, 0, r.filename_len as number);

/** Runs python3 `code` paused (pid known first) and returns its exec records. */
async function pythonExecs(code: string): Promise<DecodedRecord[]> {
  const p = paused("/usr/bin/python3", ["-c", code]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
  });
  return execsOf(cap.records, p.pid);
}

test("a normal binary: dev, inode, size, mtime, ctime and mode are the file's, no flag", async () => {
  const p = paused("/bin/true");
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
  });
  const e = execsOf(cap.records, p.pid).find((r) => filename(r) === "/bin/true");
  assert.ok(e, "exec of /bin/true recorded");
  const st = statSync("/bin/true", { bigint: true });
  // On overlayfs (the kernel matrix's root) stat's st_dev is not the inode's s_dev; the mount's is.
  const [major, minor] = execFileSync("findmnt", ["-no", "MAJ:MIN", "-T", "/bin/true"], { encoding: "utf8" })
    .trim()
    .split(":")
    .map(BigInt) as [bigint, bigint];
  const dev = kernelDev(e.exe_dev as bigint);
  const mountDev = kernelDev((major << 20n) | minor);
  assert.deepEqual(
    {
      ino: e.exe_ino,
      dev: dev === mountDev ? st.dev : dev,
      size: e.exe_size,
      mtimeNs: e.exe_mtime_ns,
      ctimeNs: e.exe_ctime_ns,
      mode: BigInt(e.exe_mode as number),
      nlink: BigInt(e.exe_nlink as number),
      flags: e.exe_flags,
    },
    {
      ino: st.ino,
      dev: st.dev,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      mode: st.mode,
      nlink: st.nlink,
      flags: 0,
    },
  );
});

test("a copy in a world-writable directory, unlinked before it is executed through its fd: deleted and world-writable dir", async () => {
  // /tmp itself is the world-writable parent: the copy goes straight into it.
  const copy = join(tmpdir(), `st-exeid-${process.pid}-true`);
  try {
    copyFileSync("/bin/true", copy);
    const ino = statSync(copy, { bigint: true }).ino;
    const execs = await pythonExecs(
      `import os\nfd = os.open(${JSON.stringify(copy)}, os.O_RDONLY)\nos.unlink(${JSON.stringify(copy)})\nos.execve(f"/proc/self/fd/{fd}", ["true"], {})`,
    );
    const e = execs.find((r) => r.exe_ino === ino);
    assert.ok(e, `exec of the deleted copy recorded: ${execs.map(filename).join(", ")}`);
    assert.equal(e.exe_nlink, 0);
    assert.equal(e.exe_flags, EXE_FLAG.deleted | EXE_FLAG.worldWritableDir);
    // The interpreter itself (/usr/bin/python3) has none of them.
    assert.equal(execs.find((r) => r.exe_ino !== ino)!.exe_flags, 0);
  } finally {
    rmSync(copy, { force: true });
  }
});

test("memfd_create + execve of /proc/self/fd/N: fileless, not deleted", async () => {
  const execs = await pythonExecs(
    [
      "import os",
      "fd = os.memfd_create('payload', 0)",
      "os.write(fd, open('/bin/true', 'rb').read())",
      "ro = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)",
      "os.close(fd)",
      "os.execve(f'/proc/self/fd/{ro}', ['payload'], {})",
    ].join("\n"),
  );
  const e = execs.find((r) => (r.exe_flags as number) & EXE_FLAG.fileless);
  assert.ok(e, "a fileless exec recorded");
  assert.equal(e.exe_flags, EXE_FLAG.fileless);
  assert.equal(e.exe_size, BigInt(statSync("/bin/true").size));
  assert.equal(e.exe_nlink, 0);
});

test("O_TMPFILE + execveat: fileless", async () => {
  const execs = await pythonExecs(
    [
      "import os",
      "fd = os.open('/var/tmp', os.O_TMPFILE | os.O_RDWR, 0o700)",
      "os.write(fd, open('/bin/true', 'rb').read())",
      "ro = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)",
      "os.close(fd)",
      // fexecve: execveat(fd, "", AT_EMPTY_PATH); 5.10 refuses it for an O_TMPFILE (ENOENT), /proc/self/fd/N works
      "try: os.execve(ro, ['tmpfile'], {})",
      "except FileNotFoundError: os.execve(f'/proc/self/fd/{ro}', ['tmpfile'], {})",
    ].join("\n"),
  );
  const e = execs.find((r) => (r.exe_flags as number) & EXE_FLAG.fileless);
  assert.ok(e, `a fileless exec recorded: ${execs.map((r) => `${filename(r)}:${r.exe_flags}`).join(", ")}`);
  // An O_TMPFILE's dentry hangs under the directory it was made in: /var/tmp is world-writable.
  assert.equal((e.exe_flags as number) & EXE_FLAG.deleted, 0);
});
