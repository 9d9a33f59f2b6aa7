// The bench workloads: what each runs, its ground truth, and the setup it needs (a netns with an nft drop rule).
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sh, runWorkload, type WorkloadRun } from "./proc.js";

export type WorkloadName = "exec" | "connect" | "write" | "write-200" | "retransmit";
export type BundleName = "exec" | "connect" | "filewrite" | "retransmit" | "privilege";

export interface Truth {
  /** Events the tracer should capture: execs; connects + accepts; write calls; retransmitted segments. */
  events: number;
  /** Bytes written (write workloads). */
  bytes?: number;
}

export interface Workload {
  readonly name: WorkloadName;
  readonly label: string;
  readonly bundle: BundleName;
  /** Loopback port of the connect and retransmit workloads. */
  readonly port?: number;
  setUp(): void;
  /** Runs once; `truth` is exact for this run. */
  run(timeoutMs?: number): Promise<{ run: WorkloadRun; truth: Truth }>;
  tearDown(): void;
}

export const EXEC_COUNT = 3000;
export const CONNECT_COUNT = 20000;
export const WRITE_COUNT = 2_000_000;
export const WRITE_BYTES = 64;
export const RETRANS_BYTES = 16 << 20;
const CONNECT_PORT = 47011;
const RETRANS_PORT = 47021;
const DROP_PERCENT = 20;

export function workloads(buildDir: string): Workload[] {
  const bin = (n: string) => join(buildDir, n);
  const writeDir = join(buildDir, "writes");
  const write = (name: "write" | "write-200", files: number): Workload => ({
    name,
    label:
      files === 1
        ? `${WRITE_COUNT / 1e6} M × 64 B writes, 1 file`
        : `${WRITE_COUNT / 1e6} M × 64 B writes, ${files} files`,
    bundle: "filewrite",
    setUp: () => mkdirSync(writeDir, { recursive: true }),
    run: async (timeoutMs) => {
      const run = await runWorkload([bin("writestorm"), String(WRITE_COUNT), String(files), writeDir], timeoutMs);
      return { run, truth: { events: WRITE_COUNT, bytes: WRITE_COUNT * WRITE_BYTES } };
    },
    tearDown: () => rmSync(writeDir, { recursive: true, force: true }),
  });
  return [
    {
      name: "exec",
      label: `fork+exec /bin/true × ${EXEC_COUNT}`,
      bundle: "exec",
      setUp: () => {},
      run: async () => ({
        run: await runWorkload([bin("execstorm"), String(EXEC_COUNT), "/bin/true"]),
        truth: { events: EXEC_COUNT },
      }),
      tearDown: () => {},
    },
    {
      name: "connect",
      label: `loopback TCP connect/accept/close × ${CONNECT_COUNT}`,
      bundle: "connect",
      port: CONNECT_PORT,
      setUp: () => {},
      run: async () => ({
        run: await runWorkload([bin("connstorm"), String(CONNECT_COUNT), String(CONNECT_PORT)]),
        truth: { events: 2 * CONNECT_COUNT },
      }),
      tearDown: () => {},
    },
    write("write", 1),
    write("write-200", 200),
    retransmitWorkload(bin("retransstorm")),
  ];
}

export const NETNS = `stbench-${process.pid}`;
const NFT_TABLE = "stbench";

/** The netns's own TcpRetransSegs (per-netns MIB, so nothing else on the host counts in it). */
function retransSegs(): number {
  const lines = sh("ip", ["netns", "exec", NETNS, "cat", "/proc/net/snmp"])
    .split("\n")
    .filter((l) => l.startsWith("Tcp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("RetransSegs")]);
}

function retransmitWorkload(binary: string): Workload {
  return {
    name: "retransmit",
    label: `${RETRANS_BYTES >> 20} MB over loopback in a netns, nft drops every ${100 / DROP_PERCENT}th inbound packet`,
    bundle: "retransmit",
    port: RETRANS_PORT,
    setUp: () => {
      sh("ip", ["netns", "add", NETNS]);
      sh("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
      // Dropped on input, so the sender's skb left and must be retransmitted (an output drop is requeued silently).
      // Every 5th packet (numgen inc), not a random 20%: the same drops each run, so runs compare.
      sh("ip", ["netns", "exec", NETNS, "nft", "-f", "-"], {
        input: `table inet ${NFT_TABLE} {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport ${RETRANS_PORT} numgen inc mod ${100 / DROP_PERCENT} == 0 counter drop\n }\n}\n`,
      });
    },
    run: async () => {
      const before = retransSegs();
      const run = await runWorkload([
        "ip",
        "netns",
        "exec",
        NETNS,
        binary,
        String(RETRANS_BYTES),
        String(RETRANS_PORT),
      ]);
      return { run, truth: { events: retransSegs() - before } };
    },
    tearDown: () => {
      sh("ip", ["netns", "exec", NETNS, "nft", "delete", "table", "inet", NFT_TABLE], { allowFail: true });
      sh("ip", ["netns", "del", NETNS], { allowFail: true });
    },
  };
}
