// Text styling for the terminal: ANSI colour on a TTY only, plain text otherwise (files, pipes, tests).

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const wrap = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;

export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };
export const ANSI: Style = { bold: wrap("1"), dim: wrap("2"), red: wrap("31"), green: wrap("32"), yellow: wrap("33") };

/** Cuts `s` to `width` columns with an ellipsis. */
export function fit(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}…`;
}

/** The banner every text view starts with for a cut-off (UNSEALED or TAMPERED) session. */
export function cutOffBanners(sessions: ReadonlyArray<{ cutOff: boolean; path: string; status: string; verdictReason: string; lastRecordNs: bigint | undefined }>, st: Style, iso: (ns: bigint) => string): string[] {
  const out: string[] = [];
  for (const s of sessions) {
    if (!s.cutOff) continue;
    out.push(st.red(st.bold(`!! ${s.path}: ${s.status} — replayed up to its readable end`)));
    out.push(st.red(`!! ${s.verdictReason}`));
    out.push(st.red(`!! last readable record: ${s.lastRecordNs === undefined ? "none" : iso(s.lastRecordNs)}; anything after it is missing`));
  }
  return out;
}
