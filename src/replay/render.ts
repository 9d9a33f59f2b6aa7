// Picks the renderer for a --view/--format pair. Text honours the view; the machine formats carry everything.
import { EXIT, UserError } from "../cli/errors.js";
import { renderJson, renderJsonChunks } from "./document.js";
import { renderHtml } from "./html.js";
import { renderJsonl, renderTimesketch } from "./jsonl.js";
import type { Replay } from "./model.js";
import { connectionLines, fileLines, timelineLines } from "./text/lists.js";
import { terminalText, type Piece } from "./text/style.js";
import { summaryLines } from "./text/summary.js";
import { treeLines } from "./text/tree.js";

export const VIEWS = ["summary", "tree", "timeline", "connections", "files"] as const;
export const FORMATS = ["text", "json", "jsonl", "timesketch", "html"] as const;
export type View = (typeof VIEWS)[number];
export type Format = (typeof FORMATS)[number];

/** Throws UserError(usage) for an unknown view or format. */
export function parseViewFormat(view: string, format: string): { view: View; format: Format } {
  if (!(VIEWS as readonly string[]).includes(view)) throw new UserError(`--view ${view}: choose one of ${VIEWS.join(", ")}`, EXIT.usage);
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format ${format}: choose one of ${FORMATS.join(", ")}`, EXIT.usage);
  return { view: view as View, format: format as Format };
}

export function render(r: Replay, view: View, format: Format, colour: boolean): string {
  switch (format) {
    case "json": return renderJson(r);
    case "jsonl": return renderJsonl(r);
    case "timesketch": return renderTimesketch(r);
    case "html": return renderHtml(r);
    // The text views build lines; terminalText is the one place their text leaves, escaped (text/visible.ts).
    case "text": return terminalText(textLines(r, view), colour);
  }
}

function textLines(r: Replay, view: View): Piece[] {
  switch (view) {
    case "summary": return summaryLines(r);
    case "tree": return treeLines(r);
    case "timeline": return timelineLines(r);
    case "connections": return connectionLines(r);
    case "files": return fileLines(r);
  }
}

/** render() in pieces, for writing as it goes: `--format json` is produced one entity at a time. */
export function renderChunks(r: Replay, view: View, format: Format, colour: boolean): Iterable<string> {
  return format === "json" ? renderJsonChunks(r) : [render(r, view, format, colour)];
}
