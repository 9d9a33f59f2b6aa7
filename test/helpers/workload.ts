// A scripted workload touching every bundle: an exec with a marker, a loopback TCP connection, a connect
// refused by a closed port (a reset received), a file write.
import { spawn } from "node:child_process";

export const WORKLOAD_PY = `
import os, socket, sys, time
marker, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
port = srv.getsockname()[1]
gone = socket.socket(); gone.bind(("127.0.0.1", 0)); closed = gone.getsockname()[1]; gone.close()
print(port, closed, flush=True)
for i in range(rounds):
    pid = os.posix_spawn("/bin/true", ["/bin/true", marker, str(i)], {})
    os.waitpid(pid, 0)
    c = socket.create_connection(("127.0.0.1", port)); a, _ = srv.accept()
    c.sendall(b"x" * 1000); a.recv(4096); c.close(); a.close()
    try:
        socket.create_connection(("127.0.0.1", closed)).close()
    except ConnectionRefusedError:
        pass
    with open(path, "ab") as f:
        f.write(b"y" * 12345)
    time.sleep(0.1)
`;

/** Runs the workload; resolves with its listening port and the closed port it tried, once it exits. */
export async function runWorkload(
  marker: string,
  path: string,
  rounds = 5,
): Promise<{ port: number; closedPort: number; pid: number }> {
  const child = spawn("/usr/bin/python3", ["-c", WORKLOAD_PY, marker, path, String(rounds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`workload exited ${code}`);
  const [port, closedPort] = out.trim().split(" ").map(Number);
  return { port: port!, closedPort: closedPort!, pid: child.pid! };
}

/** Resolves when `text()` contains `needle` (polling), or rejects after `timeoutMs`. */
export async function waitFor(text: () => string, needle: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!text().includes(needle)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for '${needle}' in: ${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
