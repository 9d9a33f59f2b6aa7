// Ring framing (docs/RECORDS.md): kernel records each behind an 8-byte header, padded to 8 bytes.
// Pure, so offline replay can walk stored spans without loading the native libbpf binding.

const DISCARD_BIT = 0x40000000;
const LEN_MASK = 0x3fffffff;
export const RING_HEADER_BYTES = 8;

/** Calls `fn(offset, length)` for each committed, non-discarded record of a span (offset of its payload). */
export function forEachRecord(span: Uint8Array, fn: (offset: number, length: number) => void): void {
  const v = new DataView(span.buffer, span.byteOffset, span.byteLength);
  let off = 0;
  while (off + RING_HEADER_BYTES <= span.length) {
    const hdr = v.getUint32(off, true);
    const len = hdr & LEN_MASK;
    if (!(hdr & DISCARD_BIT)) fn(off + RING_HEADER_BYTES, len);
    off += (len + RING_HEADER_BYTES + 7) & ~7;
  }
}
