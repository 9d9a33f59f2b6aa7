// Counted skips: records replay left out because they break the record shape, by kind, each kind with
// the first record that did it, so one line per kind can name a record and say how many followed.

export interface SkipCount {
  readonly kind: string;
  count: number;
  /** The first skipped record of this kind: file, frame, record and why. */
  readonly first: string;
}

export class SkipTally {
  private readonly byKind = new Map<string, SkipCount>();

  add(kind: string, first: string): void {
    const e = this.byKind.get(kind);
    if (e) e.count++;
    else this.byKind.set(kind, { kind, count: 1, first });
  }

  get all(): SkipCount[] {
    return [...this.byKind.values()];
  }
}
