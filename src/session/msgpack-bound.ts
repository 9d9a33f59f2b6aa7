// A structural walk over msgpack bytes that counts values before any is built: lets the reader refuse a
// frame that would expand into millions of JS values (issue 13: 512 MiB of nil aborted V8) before decoding.

/** Why a walk stopped: too many values, or a container declaring more elements than bytes left. */
export interface BoundProblem {
  readonly reason: string;
}

/**
 * Counts the msgpack values in `bytes` (every scalar, string, array and map counts one; a map's keys
 * count too). Returns the count, or a problem once the count passes `maxValues` or a length runs past
 * the end. Runs in time linear in the values, never in the bytes of strings and blobs (they are skipped).
 */
export function countMsgpackValues(bytes: Uint8Array, maxValues: number): number | BoundProblem {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let at = 0;
  let values = 0;
  /** Elements still owed by open containers: one value can never take less than one byte. */
  let owed = 0;
  while (at < end) {
    if (++values > maxValues) return { reason: `more than ${maxValues} msgpack values` };
    if (owed > 0) owed--;
    const t = bytes[at]!;
    at++;
    let skip = 0;
    let children = 0;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      // positive/negative fixint, nil, false, true
    } else if (t >= 0x80 && t <= 0x8f) children = (t & 0x0f) * 2;
    else if (t >= 0x90 && t <= 0x9f) children = t & 0x0f;
    else if (t >= 0xa0 && t <= 0xbf) skip = t & 0x1f;
    else {
      const need = ARG_BYTES[t];
      if (need === undefined) return { reason: `msgpack type byte 0x${t.toString(16)} is not used` };
      if (at + need > end) return { reason: "a msgpack value runs past the end of the frame" };
      const n = need === 1 ? bytes[at]! : need === 2 ? v.getUint16(at, false) : need === 4 ? v.getUint32(at, false) : 0;
      at += need;
      switch (t) {
        case 0xc4:
        case 0xc5:
        case 0xc6:
        case 0xd9:
        case 0xda:
        case 0xdb:
          skip = n;
          break; // bin, str
        case 0xc7:
        case 0xc8:
        case 0xc9:
          skip = n + 1;
          break; // ext: type byte then data
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:
          skip = 1;
          break;
        case 0xcd:
          skip = 2;
          break;
        case 0xce:
          skip = 4;
          break;
        case 0xcf:
          skip = 8;
          break;
        case 0xd0:
          skip = 1;
          break;
        case 0xd1:
          skip = 2;
          break;
        case 0xd2:
          skip = 4;
          break;
        case 0xd3:
          skip = 8;
          break;
        case 0xd4:
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xdc:
        case 0xdd:
          children = n;
          break;
        case 0xde:
        case 0xdf:
          children = n * 2;
          break;
        default:
          break;
      }
    }
    if (skip > end - at) return { reason: "a msgpack string or blob runs past the end of the frame" };
    at += skip;
    owed += children;
    if (owed > end - at)
      return { reason: `a msgpack container declares ${children} elements with ${end - at} bytes left` };
  }
  return values;
}

/** Argument bytes after each multi-byte type byte (the length or the value's own width is read from them). */
const ARG_BYTES: Readonly<Record<number, number>> = {
  0xc4: 1,
  0xc5: 2,
  0xc6: 4,
  0xc7: 1,
  0xc8: 2,
  0xc9: 4,
  0xca: 0,
  0xcb: 0,
  0xcc: 0,
  0xcd: 0,
  0xce: 0,
  0xcf: 0,
  0xd0: 0,
  0xd1: 0,
  0xd2: 0,
  0xd3: 0,
  0xd4: 0,
  0xd5: 0,
  0xd6: 0,
  0xd7: 0,
  0xd8: 0,
  0xd9: 1,
  0xda: 2,
  0xdb: 4,
  0xdc: 2,
  0xdd: 4,
  0xde: 2,
  0xdf: 4,
};
