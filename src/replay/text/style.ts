// Lines of the text views: our words and the session's text kept apart from the styling, so that
// terminalText(), the one place text leaves the text renderers, shows every character through visible()
// and only then adds ANSI colour (on a TTY only; plain text for files, pipes and tests).
import { isVisible, visible, visibleLength } from "./visible.js";

export type Tone = "bold" | "dim" | "red" | "green" | "yellow";

/** A run of text with its tones. `text` is raw: it may hold anything a hostile session chose. */
export interface Span {
  readonly text: string;
  readonly tones: readonly Tone[];
}

export type Line = readonly Span[];

/** What a line is made of: text (raw, escaped at the end), a number, or a styled line. */
export type Piece = string | number | bigint | Line;

function spans(p: Piece): Line {
  return typeof p === "object" ? p : [{ text: String(p), tones: [] }];
}

/** A line from a template: line`${comm} [${pid}]${exitText}`; every `${}` is a Piece. */
export function line(strings: TemplateStringsArray, ...values: Piece[]): Line {
  const out: Span[] = [];
  strings.forEach((s, i) => {
    if (s) out.push({ text: s, tones: [] });
    if (i < values.length) out.push(...spans(values[i]!));
  });
  return out;
}

const toned =
  (tone: Tone) =>
  (p: Piece): Line =>
    spans(p).map((s) => ({ text: s.text, tones: [...s.tones, tone] }));
export const bold = toned("bold");
export const dim = toned("dim");
export const red = toned("red");
export const green = toned("green");
export const yellow = toned("yellow");

/** Width on screen once escaped (one column per UTF-16 unit, as before). */
export function width(p: Piece): number {
  return spans(p).reduce((n, s) => n + visibleLength(s.text), 0);
}

/** Cuts `p` to `cols` columns of its escaped form with an ellipsis; an escape is never cut in half. */
export function fit(p: Piece, cols: number): Line {
  const l = spans(p);
  if (width(l) <= cols) return l;
  const out: Span[] = [];
  let left = Math.max(0, cols - 1);
  for (const s of l) {
    let text = "";
    if (isVisible(s.text)) {
      // One column per UTF-16 unit: cut at `left`, but not between the halves of a surrogate pair.
      let end = Math.min(left, s.text.length);
      if (end > 0 && end < s.text.length && /[\udc00-\udfff]/.test(s.text[end]!)) end--;
      text = s.text.slice(0, end);
      left -= end;
    } else {
      for (const ch of s.text) {
        const w = visibleLength(ch);
        if (w > left) break;
        text += ch;
        left -= w;
      }
    }
    if (text) out.push({ text, tones: s.tones });
    if (text.length < s.text.length) break;
  }
  out.push({ text: "…", tones: [] });
  return out;
}

/** `p` cut to `cols` columns and padded with spaces to exactly `cols` (columns of text from a session). */
export function pad(p: Piece, cols: number): Line {
  const l = fit(p, cols);
  const w = width(l);
  return w < cols ? [...l, { text: " ".repeat(cols - w), tones: [] }] : l;
}

const SGR: Record<Tone, string> = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33" };

/**
 * The text of whole lines, each ending in a newline. Every character of every span goes through visible();
 * the only escape sequences in the result are the SGR colour codes added here when `colour` is set.
 */
export function terminalText(lines: readonly Piece[], colour: boolean): string {
  let out = "";
  for (const l of lines) {
    for (const s of spans(l)) {
      const text = visible(s.text);
      out +=
        colour && s.tones.length > 0 && text ? `\x1b[${s.tones.map((t) => SGR[t]).join(";")}m${text}\x1b[0m` : text;
    }
    out += "\n";
  }
  return out;
}

/** The banner every text view starts with for a cut-off (UNSEALED or TAMPERED) session. */
export function cutOffBanners(
  sessions: ReadonlyArray<{
    cutOff: boolean;
    path: string;
    status: string;
    verdictReason: string;
    lastRecordNs: bigint | undefined;
  }>,
  iso: (ns: bigint) => string,
): Line[] {
  const out: Line[] = [];
  for (const s of sessions) {
    if (!s.cutOff) continue;
    out.push(red(bold(line`!! ${s.path}: ${s.status} — replayed up to its readable end`)));
    out.push(red(line`!! ${s.verdictReason}`));
    out.push(
      red(
        line`!! last readable record: ${s.lastRecordNs === undefined ? "none" : iso(s.lastRecordNs)}; anything after it is missing`,
      ),
    );
  }
  return out;
}
