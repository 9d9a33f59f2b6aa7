// Times of individual retransmits or resets on one connection, for the timeline: at most MAX_MARKS, the
// counts elsewhere stay exact. Packed 8 bytes a time: as bigint[] a mark cost ~32 bytes, and thousands of
// long-lived sockets each keeping the cap made up half of replay's heap on a 1 GiB session.

/** Individual mark times kept per connection. */
export const MAX_MARKS = 256;

export class TimeMarks implements Iterable<bigint> {
  /** The first mark, kept without an array: most connections see one retransmit or none. */
  private first: bigint | undefined;
  private rest: BigUint64Array | undefined;
  length = 0;

  /** No further push() is kept. */
  get full(): boolean {
    return this.length >= MAX_MARKS;
  }

  /** Keeps `timeNs` unless MAX_MARKS are kept already. */
  push(timeNs: bigint): void {
    if (this.length >= MAX_MARKS) return;
    if (this.length === 0) {
      this.first = timeNs;
    } else {
      const i = this.length - 1;
      if (!this.rest || i === this.rest.length) {
        const grown = new BigUint64Array(Math.min(MAX_MARKS - 1, Math.max(4, i * 2)));
        if (this.rest) grown.set(this.rest);
        this.rest = grown;
      }
      this.rest[i] = timeNs;
    }
    this.length++;
  }

  *[Symbol.iterator](): Iterator<bigint> {
    if (this.length > 0) yield this.first!;
    for (let i = 0; i < this.length - 1; i++) yield this.rest![i]!;
  }
}
