// The live status line while recording (a TTY line redrawn in place; plain periodic lines otherwise).
import type { RecordStatus } from "../recorder/recorder.js";
import { formatBytes, formatDuration } from "../runbook/units.js";

export function formatStatus(s: RecordStatus): string {
  const parts = Object.entries(s.bundles).map(([name, c]) => {
    const lost = c.ringFull + c.mapFull + c.recursionMisses;
    return `${name} ${c.events} (${Math.round(c.ratePerSec)}/s${lost ? `, LOST ${lost}` : ""}${c.dropped ? `, DROPPED ${c.dropped}` : ""})`;
  });
  return `● rec ${formatDuration(s.elapsedMs)} | left ${formatDuration(s.leftMs)} | ${parts.join(" | ")} | ${formatBytes(s.bytesOnDisk)} in ${s.frames} frames`;
}

export class StatusLine {
  private readonly tty: boolean;
  /** Without a TTY: when the last plain line was printed, and each bundle's event count then. */
  private lastPlain: { elapsedMs: number; events: Map<string, number> } | undefined;
  constructor(private readonly out: Pick<NodeJS.WriteStream, "write" | "isTTY" | "columns"> = process.stderr) {
    this.tty = out.isTTY === true;
  }

  update(s: RecordStatus): void {
    if (this.tty) {
      const text = formatStatus(s);
      const cols = this.out.columns ?? 120;
      this.out.write(`\r\x1b[2K${text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text}`);
      return;
    }
    const last = this.lastPlain;
    if (last && s.elapsedMs - last.elapsedMs < 5000) return;
    // A plain line every 5 s: its rates cover those 5 s, not only the last second (a burst between
    // two lines would otherwise print as "0/s").
    let shown = s;
    if (last) {
      const spanMs = s.elapsedMs - last.elapsedMs;
      shown = {
        ...s,
        bundles: Object.fromEntries(
          Object.entries(s.bundles).map(([name, c]) => [
            name,
            { ...c, ratePerSec: ((c.events - (last.events.get(name) ?? 0)) * 1000) / spanMs },
          ]),
        ),
      };
    }
    this.lastPlain = {
      elapsedMs: s.elapsedMs,
      events: new Map(Object.entries(s.bundles).map(([name, c]) => [name, c.events])),
    };
    this.out.write(`sealtrace: ${formatStatus(shown)}\n`);
  }

  /** Prints a line of its own above the status line (which the next update redraws). */
  note(text: string): void {
    this.out.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  end(): void {
    if (this.tty) this.out.write("\r\x1b[2K");
  }
}
