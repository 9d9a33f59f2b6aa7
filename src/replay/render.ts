// Picks the renderer for a --view/--format pair. Text honours the view; the machine formats carry everything.
import { EXIT, UserError } from "../cli/errors.js";
import { renderJson, renderJsonChunks } from "./document.js";
import { renderHtml } from "./html.js";
import { renderJsonl, renderTimesketch } from "./jsonl.js";
import { matchesJson, processDetailJson, type ProcessDetail } from "./focus.js";
import type { ProcessEntity, Replay } from "./model.js";
import { stateJson, type StateAt } from "./state.js";
import { renderConnections, renderFiles, renderTimeline } from "./text/lists.js";
import { renderMatches, renderProcess } from "./text/process.js";
import { renderState } from "./text/state.js";
import { ANSI, PLAIN } from "./text/style.js";
import { renderSummary } from "./text/summary.js";
import { renderTree } from "./text/tree.js";

/** The views of the whole replay; `process` (one process, picked by --pid) is the other view. */
export const VIEWS = ["summary", "tree", "timeline", "connections", "files"] as const;
/** The formats `--view process` and `--at` give: a document of their own, not the whole replay. */
export const FOCUS_FORMATS = ["text", "json"] as const;
export const FORMATS = ["text", "json", "jsonl", "timesketch", "html"] as const;
export type View = (typeof VIEWS)[number] | "process";
export type Format = (typeof FORMATS)[number];

/** Throws UserError(usage) for an unknown view or format. */
export function parseViewFormat(view: string, format: string): { view: View; format: Format } {
  if (!(VIEWS as readonly string[]).includes(view) && view !== "process") throw new UserError(`--view ${view}: choose one of ${VIEWS.join(", ")}, process`, EXIT.usage);
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format ${format}: choose one of ${FORMATS.join(", ")}`, EXIT.usage);
  return { view: view as View, format: format as Format };
}

/** One process (`--view process`), the processes a `--pid` named when it named several, or the state `--at` a time. */
export type Focus =
  | { kind: "process"; detail: ProcessDetail }
  | { kind: "matches"; selector: string; matches: readonly ProcessEntity[] }
  | { kind: "state"; state: StateAt };

export interface RenderOptions {
  focus?: Focus;
  /** Text tree and state: show kernel threads (and, in the tree, idle snapshot processes) instead of a count. */
  all?: boolean;
}

function renderFocus(r: Replay, focus: Focus, format: Format, colour: boolean, all: boolean): string {
  const st = colour ? ANSI : PLAIN;
  if (format === "json") {
    const doc = focus.kind === "process" ? processDetailJson(focus.detail) : focus.kind === "matches" ? matchesJson(focus.selector, focus.matches) : stateJson(focus.state);
    return `${JSON.stringify(doc, null, 2)}\n`;
  }
  if (format !== "text") throw new UserError(`--format ${format}: --view process and --at give ${FOCUS_FORMATS.join(" or ")}`, EXIT.usage);
  return focus.kind === "process" ? renderProcess(r, focus.detail, st) : focus.kind === "matches" ? renderMatches(r, focus.selector, focus.matches, st) : renderState(r, focus.state, st, all);
}

export function render(r: Replay, view: View, format: Format, colour: boolean, opts: RenderOptions = {}): string {
  const st = colour ? ANSI : PLAIN;
  if (opts.focus) return renderFocus(r, opts.focus, format, colour, opts.all === true);
  switch (format) {
    case "json": return renderJson(r);
    case "jsonl": return renderJsonl(r);
    case "timesketch": return renderTimesketch(r);
    case "html": return renderHtml(r);
    case "text":
      switch (view) {
        case "summary": return renderSummary(r, st);
        case "tree": return renderTree(r, st, opts.all === true);
        case "timeline": return renderTimeline(r, st);
        case "connections": return renderConnections(r, st);
        case "files": return renderFiles(r, st);
        case "process": throw new UserError("--view process needs --pid N", EXIT.usage);
      }
  }
}

/** render() in pieces, for writing as it goes: `--format json` is produced one entity at a time. */
export function renderChunks(r: Replay, view: View, format: Format, colour: boolean, opts: RenderOptions = {}): Iterable<string> {
  return format === "json" && !opts.focus ? renderJsonChunks(r) : [render(r, view, format, colour, opts)];
}
