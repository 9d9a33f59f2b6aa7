// Records encoded and waiting for their frame: one growing buffer and where each record ends in it, so a
// frame can be cut at a record boundary to fit a full disk. Wiped when taken.

export class PendingRecords {
  private buf: Buffer;
  private bytes = 0;
  private ends: number[] = [];
  /** When the oldest pending record was pushed (performance.now()). */
  oldestMs = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.alloc(initialBytes);
  }

  /** Records pending. */
  get count(): number {
    return this.ends.length;
  }

  /** Bytes of msgpack pending. */
  get byteLength(): number {
    return this.bytes;
  }

  /** Copies one encoded record in. */
  push(record: Uint8Array): void {
    if (this.bytes + record.length > this.buf.length) this.grow(record.length);
    this.buf.set(record, this.bytes);
    this.bytes += record.length;
    this.ends.push(this.bytes);
    if (this.ends.length === 1) this.oldestMs = performance.now();
  }

  /** The msgpack of the first `records` records: a view into the buffer, valid until clear(). */
  prefix(records: number): Uint8Array {
    return this.buf.subarray(0, records >= this.ends.length ? this.bytes : this.ends[records - 1]!);
  }

  /** Wipes and forgets every pending record. */
  clear(): void {
    this.buf.fill(0, 0, this.bytes);
    this.bytes = 0;
    this.ends = [];
  }

  private grow(extraBytes: number): void {
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.bytes + extraBytes));
    next.set(this.buf.subarray(0, this.bytes));
    this.buf.fill(0, 0, this.bytes);
    this.buf = next;
  }
}
