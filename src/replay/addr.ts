// Socket addresses as the kernel records give them (16 bytes, IPv4 in the first 4) to text.

export const AF_INET = 2;
export const AF_INET6 = 10;

export function familyName(family: number): string {
  return family === AF_INET ? "ipv4" : family === AF_INET6 ? "ipv6" : `af${family}`;
}

export function protocolName(protocol: number): string {
  return protocol === 6 ? "tcp" : protocol === 17 ? "udp" : protocol === 0 ? "unknown" : `ip${protocol}`;
}

const ipv4Text = new Map<number, string>();

/** Dotted quad for IPv4; RFC 5952 text for IPv6 (v4-mapped shown as ::ffff:a.b.c.d). */
export function formatAddr(family: number, bytes: Uint8Array, off: number): string {
  if (family !== AF_INET6) {
    // Replay formats the same few addresses millions of times: remember them (bounded).
    const n = ((bytes[off]! << 24) | (bytes[off + 1]! << 16) | (bytes[off + 2]! << 8) | bytes[off + 3]!) >>> 0;
    let text = ipv4Text.get(n);
    if (text === undefined) {
      text = `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
      if (ipv4Text.size < 65536) ipv4Text.set(n, text);
    }
    return text;
  }
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[off + 2 * i]! << 8) | bytes[off + 2 * i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[off + 12]}.${bytes[off + 13]}.${bytes[off + 14]}.${bytes[off + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** `addr:port`, with brackets around IPv6. */
export function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** The end a connection line names: the local address for a listener (its remote is 0.0.0.0:0), else the remote. */
export function shownEnd(c: { direction: string; saddr: string; sport: number; daddr: string; dport: number }): string {
  return c.direction === "listen" ? endpoint(c.saddr, c.sport) : endpoint(c.daddr, c.dport);
}
