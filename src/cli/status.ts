// The live status line while recording (a TTY line redrawn in place; plain periodic lines otherwise).
import type { RecordStatus } from "../recorder/recorder.js";
import { formatBytes, formatDuration } from "../runbook/units.js";

export function formatStatus(s: RecordStatus): string {
  const parts = Object.entries(s.bundles).map(([name, c]) => {
    const lost = c.ringFull + c.mapFull + c.recursionMisses;
    return `${name} ${c.events} (${Math.round(c.ratePerSec)}/s${lost ? `, LOST ${lost}` : ""})`;
  });
  return `● rec ${formatDuration(s.elapsedMs)} | left ${formatDuration(s.leftMs)} | ${parts.join(" | ")} | ${formatBytes(s.bytesOnDisk)} in ${s.frames} frames`;
}

export class StatusLine {
  private readonly tty: boolean;
  private lastPlainMs = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true;
  }

  update(s: RecordStatus): void {
    const text = formatStatus(s);
    if (this.tty) {
      const cols = this.out.columns ?? 120;
      this.out.write(`\r\x1b[2K${text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text}`);
    } else if (s.elapsedMs - this.lastPlainMs >= 5000 || this.lastPlainMs === 0) {
      this.lastPlainMs = s.elapsedMs || 1;
      this.out.write(`sealtrace: ${text}\n`);
    }
  }

  /** Prints a line of its own above the status line (which the next update redraws). */
  note(text: string): void {
    this.out.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  end(): void {
    if (this.tty) this.out.write("\r\x1b[2K");
  }
}
