// A tar.gz whose bytes depend only on the tree's contents: sorted entries, one mtime, root owner, normalised
// modes, no hard links, and gzip without a name or timestamp.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, renameSync } from "node:fs";

export function reproducibleTarGz(args: { parent: string; dir: string; mtimeS: number; out: string }): string {
  const tmp = `${args.out}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    // tar | gzip through a shell pipe, each tool with fixed options; pipefail so a tar error is not hidden.
    execFileSync(
      "bash",
      [
        "-o",
        "pipefail",
        "-c",
        `tar --sort=name --format=gnu --mtime=@${args.mtimeS} --owner=0 --group=0 --numeric-owner \
      --mode=u+rw,go-w,go+rX --hard-dereference --no-acls --no-xattrs --no-selinux -C "$1" -cf - "$2" | gzip -9 -n`,
        "tar",
        args.parent,
        args.dir,
      ],
      {
        stdio: ["ignore", fd, "inherit"],
        env: { ...process.env, LC_ALL: "C", TZ: "UTC", GZIP: "" },
      },
    );
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, args.out);
  return createHash("sha256").update(readFileSync(args.out)).digest("hex");
}
