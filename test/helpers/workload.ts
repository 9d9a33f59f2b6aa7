// A scripted workload touching every bundle: an exec with a marker, a loopback TCP connection, a file write.
import { spawn } from "node:child_process";

export const WORKLOAD_PY = `
import os, socket, sys, time
marker, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
port = srv.getsockname()[1]
print(port, flush=True)
for i in range(rounds):
    pid = os.posix_spawn("/bin/true", ["/bin/true", marker, str(i)], {})
    os.waitpid(pid, 0)
    c = socket.create_connection(("127.0.0.1", port)); a, _ = srv.accept()
    c.sendall(b"x" * 1000); a.recv(4096); c.close(); a.close()
    with open(path, "ab") as f:
        f.write(b"y" * 12345)
    time.sleep(0.1)
`;

/** Runs the workload; resolves with its listening port once it exits. */
export async function runWorkload(marker: string, path: string, rounds = 5): Promise<{ port: number; pid: number }> {
  const child = spawn("/usr/bin/python3", ["-c", WORKLOAD_PY, marker, path, String(rounds)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`workload exited ${code}`);
  return { port: Number(out.trim()), pid: child.pid! };
}

/** Resolves when `text()` contains `needle` (polling), or rejects after `timeoutMs`. */
export async function waitFor(text: () => string, needle: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!text().includes(needle)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for '${needle}' in: ${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
