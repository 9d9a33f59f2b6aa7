// The connect and retransmit bundles' remote filters (ports, addresses) as .rodata values (bpf/net.bpf.h).
import { isIPv4, isIPv6 } from "node:net";
import type { RodataValue } from "../libbpf/object.js";
import type { Filters } from "./spec.js";
import { UserError } from "../errors.js";

/** Capacities of the kernel-side tables (ST_NET_MAX_PORTS, ST_NET_MAX_ADDRS). */
export const MAX_PORTS = 16;
export const MAX_ADDRS = 8;
const AF_INET = 2;
const AF_INET6 = 10;

/** The 4 bytes of an IPv4 address, in network order. */
function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail), in network order. */
export function ipv6Bytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let body = text.split("%")[0]!;
  let tail: Uint8Array | undefined;
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    tail = ipv4Bytes(body.slice(lastColon + 1));
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = body.split("::") as [string, string | undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/**
 * The .rodata values for `filters.ports` and `filters.addresses` (remote end only).
 * Throws UserError for a bad address, a bad port, or more than the kernel tables hold.
 */
export function netRodata(filters: Filters): Record<string, RodataValue> {
  const ports = filters.ports ?? [];
  const addrs = filters.addresses ?? [];
  if (ports.length > MAX_PORTS)
    throw new UserError(`at most ${MAX_PORTS} ports can be filtered on, got ${ports.length}`, "bad-input");
  if (addrs.length > MAX_ADDRS)
    throw new UserError(`at most ${MAX_ADDRS} addresses can be filtered on, got ${addrs.length}`, "bad-input");
  const portBytes = new Uint8Array(2 * MAX_PORTS);
  const pv = new DataView(portBytes.buffer);
  ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535)
      throw new UserError(`bad port filter ${p}: use 1-65535`, "bad-input");
    pv.setUint16(2 * i, p, true);
  });
  const families = new Uint8Array(2 * MAX_ADDRS);
  const fv = new DataView(families.buffer);
  const addrBytes = new Uint8Array(16 * MAX_ADDRS);
  addrs.forEach((a, i) => {
    if (isIPv4(a)) {
      fv.setUint16(2 * i, AF_INET, true);
      addrBytes.set(ipv4Bytes(a), 16 * i);
    } else if (isIPv6(a)) {
      fv.setUint16(2 * i, AF_INET6, true);
      addrBytes.set(ipv6Bytes(a), 16 * i);
    } else {
      throw new UserError(`bad address filter "${a}": give an IPv4 or IPv6 address`, "bad-input");
    }
  });
  return {
    cfg_port_count: ports.length,
    cfg_ports: portBytes,
    cfg_addr_count: addrs.length,
    cfg_addr_families: families,
    cfg_addrs: addrBytes,
  };
}
