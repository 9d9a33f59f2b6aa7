// Picks the renderer for a --view/--format pair. Text honours the view; the machine formats carry everything.
import { UserError } from "../errors.js";
import { renderJson, renderJsonChunks } from "./document.js";
import { exactJson } from "./exactjson.js";
import { renderHtml } from "./html.js";
import { renderJsonl, renderTimesketch } from "./jsonl.js";
import { matchesJson, processDetailJson, type ProcessDetail } from "./focus.js";
import type { ProcessEntity, Replay } from "./model.js";
import { stateJson, type StateAt } from "./state.js";
import { connectionLines, fileLines, timelineLines } from "./text/lists.js";
import { matchLines, processLines } from "./text/process.js";
import { stateLines } from "./text/state.js";
import { terminalText, type Piece } from "./text/style.js";
import { summaryLines } from "./text/summary.js";
import { treeLines } from "./text/tree.js";

/** The views of the whole replay; `process` (one process, picked by --pid) is the other view. */
export const VIEWS = ["summary", "tree", "timeline", "connections", "files"] as const;
/** The formats `--view process` and `--at` give: a document of their own, not the whole replay. */
export const FOCUS_FORMATS = ["text", "json"] as const;
export const FORMATS = ["text", "json", "jsonl", "timesketch", "html"] as const;
export type View = (typeof VIEWS)[number] | "process";
export type Format = (typeof FORMATS)[number];

/** Throws UserError(bad-input) for an unknown view or format. */
export function parseViewFormat(view: string, format: string): { view: View; format: Format } {
  if (!(VIEWS as readonly string[]).includes(view) && view !== "process")
    throw new UserError(`--view ${view}: choose one of ${VIEWS.join(", ")}, process`, "bad-input");
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UserError(`--format ${format}: choose one of ${FORMATS.join(", ")}`, "bad-input");
  return { view: view as View, format: format as Format };
}

/** One process (`--view process`), the processes a `--pid` named when it named several, or the state `--at` a time. */
export type Focus =
  | { kind: "process"; detail: ProcessDetail }
  | { kind: "matches"; selector: string; matches: readonly ProcessEntity[] }
  | { kind: "state"; state: StateAt };

export interface RenderOptions {
  focus?: Focus;
  /** Text tree, HTML lanes and state: show kernel threads (and, in the tree and lanes, idle snapshot processes) instead of a count. */
  all?: boolean;
}

function renderFocus(r: Replay, focus: Focus, format: Format, colour: boolean, all: boolean): string {
  if (format === "json") {
    const doc =
      focus.kind === "process"
        ? processDetailJson(focus.detail)
        : focus.kind === "matches"
          ? matchesJson(focus.selector, focus.matches)
          : stateJson(focus.state);
    return `${exactJson(doc, 2)}\n`;
  }
  if (format !== "text")
    throw new UserError(`--format ${format}: --view process and --at give ${FOCUS_FORMATS.join(" or ")}`, "bad-input");
  const lines =
    focus.kind === "process"
      ? processLines(r, focus.detail)
      : focus.kind === "matches"
        ? matchLines(r, focus.selector, focus.matches)
        : stateLines(r, focus.state, all);
  return terminalText(lines, colour);
}

export function render(r: Replay, view: View, format: Format, colour: boolean, opts: RenderOptions = {}): string {
  if (opts.focus) return renderFocus(r, opts.focus, format, colour, opts.all === true);
  switch (format) {
    case "json":
      return renderJson(r);
    case "jsonl":
      return renderJsonl(r);
    case "timesketch":
      return renderTimesketch(r);
    case "html":
      return renderHtml(r, undefined, { all: opts.all === true });
    // The text views build lines; terminalText is the one place their text leaves, escaped (text/visible.ts).
    case "text":
      return terminalText(textLines(r, view, opts.all === true), colour);
  }
}

function textLines(r: Replay, view: View, all: boolean): Piece[] {
  switch (view) {
    case "summary":
      return summaryLines(r);
    case "tree":
      return treeLines(r, all);
    case "timeline":
      return timelineLines(r);
    case "connections":
      return connectionLines(r);
    case "files":
      return fileLines(r);
    case "process":
      throw new UserError("--view process needs --pid N", "bad-input");
  }
}

/** render() in pieces, for writing as it goes: `--format json` is produced one entity at a time. */
export function renderChunks(
  r: Replay,
  view: View,
  format: Format,
  colour: boolean,
  opts: RenderOptions = {},
): Iterable<string> {
  return format === "json" && !opts.focus ? renderJsonChunks(r) : [render(r, view, format, colour, opts)];
}
