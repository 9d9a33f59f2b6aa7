// Loss gaps: successive cumulative `loss` records of a bundle become time-bounded gaps where they grew.
import type { LossGap } from "./model.js";
import type { HasherLossRecord, LossRecord, Unchecked } from "../session/records.js";

interface LossState {
  total: bigint;
  atNs: bigint;
}

/** Sum of a `loss` record's counters (docs/RECORDS.md); bigint or number fields, missing ones count 0. */
export function lossTotal(r: Unchecked<LossRecord> | Unchecked<HasherLossRecord>): bigint {
  let sum = 0n;
  for (const k of ["ringFull", "mapFull", "readFail", "recursionMisses", "dropped", "queueFull"] as const) {
    const v = (r as Record<string, unknown>)[k];
    if (typeof v === "bigint") sum += v;
    else if (typeof v === "number" && Number.isFinite(v)) sum += BigInt(Math.trunc(v));
  }
  return sum;
}

export class LossTracker {
  readonly gaps: LossGap[] = [];
  private readonly last = new Map<string, LossState>();

  /** A `loss` record of `bundle` at `atNs` (epoch ns); the first one is measured from `sessionStartNs`. */
  add(host: string, sessionIndex: number, bundle: string, total: bigint, atNs: bigint, sessionStartNs: bigint): void {
    const k = `${sessionIndex}:${bundle}`;
    const prev = this.last.get(k) ?? { total: 0n, atNs: sessionStartNs };
    if (total > prev.total)
      this.gaps.push({ host, sessionIndex, bundle, count: total - prev.total, fromNs: prev.atNs, toNs: atNs });
    this.last.set(k, { total: total > prev.total ? total : prev.total, atNs });
  }
}
