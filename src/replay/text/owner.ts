// The short container/unit column of the text views that list processes (container.ts ownerLabel).
import { ownerLabel } from "../container.js";
import type { ProcessEntity } from "../model.js";
import { line, pad, type Line } from "./style.js";

/** Widest the column gets: `docker:<12 hex>` fits; a longer label (a pod and its container) is cut. */
const MAX_WIDTH = 20;

export interface OwnerColumn {
  header: string;
  cell: (p: ProcessEntity | undefined) => Line;
}

/** A column sized to the labels of `processes`, or undefined when none has one (no column then). */
export function ownerColumn(processes: Iterable<ProcessEntity | undefined>): OwnerColumn | undefined {
  let width = 0;
  for (const p of processes) width = Math.max(width, ownerLabel(p?.container).length);
  if (width === 0) return undefined;
  width = Math.max(5, Math.min(width, MAX_WIDTH));
  return {
    header: "owner".padEnd(width + 1),
    cell: (p) => line`${pad(ownerLabel(p?.container), width)} `,
  };
}
