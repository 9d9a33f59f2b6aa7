// Times of individual retransmits or resets on one connection, for the timeline: at most MAX_MARKS, the
// counts elsewhere stay exact. Packed 8 bytes a time: as bigint[] a mark cost ~32 bytes, and thousands of
// long-lived sockets each keeping the cap made up half of replay's heap on a 1 GiB session.

/** Individual mark times kept per connection. */
export const MAX_MARKS = 256;

export class TimeMarks implements Iterable<bigint> {
  private times: BigUint64Array | undefined;
  length = 0;

  /** Keeps `timeNs` unless MAX_MARKS are kept already. */
  push(timeNs: bigint): void {
    if (this.length >= MAX_MARKS) return;
    if (!this.times || this.length === this.times.length) {
      const grown = new BigUint64Array(Math.min(MAX_MARKS, Math.max(4, this.length * 2)));
      if (this.times) grown.set(this.times);
      this.times = grown;
    }
    this.times[this.length++] = timeNs;
  }

  *[Symbol.iterator](): Iterator<bigint> {
    for (let i = 0; i < this.length; i++) yield this.times![i]!;
  }
}
