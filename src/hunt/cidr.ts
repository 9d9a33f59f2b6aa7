// The `cidr` modifier: is an address (as replay formats it) inside an IPv4 or IPv6 network?
import { isIPv4, isIPv6 } from "node:net";

export interface Network {
  bits: bigint;
  mask: bigint;
  v6: boolean;
}

function v4(text: string): bigint {
  return text.split(".").reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

function v6(text: string): bigint {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  let t = text;
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (m) {
    const n = v4(m[1]!);
    t = `${t.slice(0, -m[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.includes("::") ? (t.split("::") as [string, string]) : [t, undefined];
  const h = head ? head.split(":") : [];
  const tl = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill("0"), ...tl];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128). Returns undefined when malformed. */
export function parseCidr(text: string): Network | undefined {
  const [addr, len, extra] = text.trim().split("/");
  if (addr === undefined || extra !== undefined) return undefined;
  const is6 = isIPv6(addr);
  if (!is6 && !isIPv4(addr)) return undefined;
  const width = is6 ? 128 : 32;
  const n = len === undefined ? width : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(n >= 0 && n <= width)) return undefined;
  const all = (1n << BigInt(width)) - 1n;
  const mask = n === 0 ? 0n : (all << BigInt(width - n)) & all;
  return { bits: (is6 ? v6(addr) : v4(addr)) & mask, mask, v6: is6 };
}

/** Whether `addr` lies in `net`; an IPv4-mapped IPv6 address also matches an IPv4 network. */
export function inNetwork(addr: string, net: Network): boolean {
  if (isIPv4(addr)) return !net.v6 && (v4(addr) & net.mask) === net.bits;
  if (!isIPv6(addr)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped && !net.v6) return (v4(mapped[1]!) & net.mask) === net.bits;
  return net.v6 && (v6(addr) & net.mask) === net.bits;
}
