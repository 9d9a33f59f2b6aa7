// `--format html`: one self-contained page (inline CSS and JS, no network): a swimlane per process with
// exec/exit/connection/retransmit/file marks, hover details, search, loss gaps and the cut-off marked.
// Session text is escaped (and shown through visible()); the page's own CSS and JS are the only ones its
// Content-Security-Policy allows, by hash, and nothing carries a style or event-handler attribute.
import { createHash } from "node:crypto";
import { shownEnd } from "./addr.js";
import { timelineEvents, type EventKind } from "./events.js";
import type { ProcessEntity, Replay } from "./model.js";
import { byStart, imageText } from "./processes.js";
import { standout, type Standout } from "./standout.js";
import { foldedLine, foldedProcesses } from "./text/tree.js";
import { visible } from "./text/visible.js";
import { formatDurationNs, isoFromNs } from "./time.js";

/** Text for an HTML text node or quoted attribute: control, bidi and escaped bytes made visible, then HTML-escaped. */
const esc = (s: string): string =>
  visible(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
/** Several lines of session text for a tooltip: each line escaped, joined by our own newlines. */
const escLines = (...lines: string[]): string => lines.map(esc).join("\n");

const MARK_CLASS: Partial<Record<EventKind, string>> = {
  "process.start": "fork",
  "process.exec": "exec",
  "process.exit": "exit",
  "connection.attempt": "connect",
  "connection.established": "connect",
  "connection.failed": "connfail",
  "connection.close": "close",
  "connection.retransmit": "retransmit",
  "connection.reset": "reset",
  "file.write": "file",
  "file.delete": "fileop",
  "file.rename": "fileop",
  "file.chmod": "fileop",
  "privilege.credentials": "priv",
  "privilege.ptrace": "priv",
  "privilege.module": "priv",
  "privilege.bpf": "priv",
  "privilege.mount": "priv",
  "privilege.namespace": "priv",
  "privilege.memfd": "priv",
  "privilege.rename": "priv",
  "privilege.signal": "priv",
};

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header{padding:10px 16px;background:#263238;color:#eee}
header h1{font-size:16px;margin:0 0 4px}
.session{font-size:12px;color:#cfd8dc}
.banner{background:#b71c1c;color:#fff;padding:6px 16px;font-weight:600}
.loss-banner{background:#ef6c00}
.controls{padding:8px 16px}
#search{width:320px;padding:4px}
.legend span{display:inline-block;margin-left:12px}
#lanes{position:relative;margin:0 16px 24px;border:1px solid #ccc;background:#fff}
.axis{display:flex;height:20px;margin-left:260px;position:relative;font-size:11px;color:#666;border-bottom:1px solid #ddd}
.axis span{position:absolute;transform:translateX(-50%)}
.lane{display:flex;height:22px;border-bottom:1px solid #f0f0f0}
.lane.hidden{display:none}
.label{width:260px;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding:2px 6px;box-sizing:border-box;font-family:monospace;font-size:12px}
.track{position:relative;flex:1}
.life{position:absolute;top:9px;height:4px;background:#90a4ae;border-radius:2px}
.life.snapshot{background:#cfd8dc}
.mark{position:absolute;top:4px;width:8px;height:14px;margin-left:-4px;border-radius:2px;cursor:pointer}
.mark-fork{background:#78909c}.mark-exec{background:#1565c0}.mark-exit{background:#424242}
.mark-connect{background:#2e7d32}.mark-connfail{background:#c62828}.mark-close{background:#a5d6a7}
.mark-retransmit{background:#ef6c00;width:4px;margin-left:-2px}.mark-reset{background:#ad1457}
.mark-file{background:#6a1b9a}.mark-fileop{background:#ab47bc}.mark-priv{background:#d50000}
.mark.hit{outline:2px solid #fdd835}
.overlay{position:absolute;top:20px;bottom:0;left:260px;right:0;pointer-events:none}
.gap{position:absolute;top:0;bottom:0;background:repeating-linear-gradient(45deg,rgba(255,152,0,.18),rgba(255,152,0,.18) 6px,rgba(255,152,0,.05) 6px,rgba(255,152,0,.05) 12px);border-left:1px dashed #ef6c00;border-right:1px dashed #ef6c00}
.cutoff{position:absolute;top:0;bottom:0;right:0;background:rgba(183,28,28,.12);border-left:3px solid #b71c1c}
.standout{margin:8px 16px 0;padding:6px 10px;background:#fff;border:1px solid #ddd;border-left:4px solid #c62828}
.standout h2{font-size:13px;margin:0 0 2px}
.standout ul{margin:0;padding-left:18px}
.standout li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.standout .none{color:#666}
.folded{padding:3px 6px;color:#666;font-style:italic;border-bottom:1px solid #f0f0f0}
#tip{position:fixed;display:none;max-width:520px;background:#263238;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;white-space:pre-wrap;pointer-events:none;z-index:9}
`;

const JS = `
(function(){
// Positions ride in data attributes: a style attribute would need 'unsafe-inline' in the CSP.
var placed=document.querySelectorAll('[data-x],[data-w],[data-pad]');
for(var k=0;k<placed.length;k++){var el=placed[k],x=el.getAttribute('data-x'),w=el.getAttribute('data-w'),p=el.getAttribute('data-pad');
  if(x)el.style.left=x;if(w)el.style.width=w;if(p)el.style.paddingLeft=p;}
var tip=document.getElementById('tip');
document.addEventListener('mouseover',function(e){var t=e.target;if(t&&t.getAttribute&&t.getAttribute('data-tip')){tip.textContent=t.getAttribute('data-tip');tip.style.display='block';}});
document.addEventListener('mousemove',function(e){tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
document.addEventListener('mouseout',function(e){var t=e.target;if(t&&t.getAttribute&&t.getAttribute('data-tip'))tip.style.display='none';});
var box=document.getElementById('search'),count=document.getElementById('count');
box.addEventListener('input',function(){
  var q=box.value.toLowerCase(),n=0,lanes=document.querySelectorAll('.lane');
  for(var i=0;i<lanes.length;i++){var l=lanes[i],show=!q||l.getAttribute('data-search').indexOf(q)>=0;
    var marks=l.querySelectorAll('.mark');for(var j=0;j<marks.length;j++){var hit=!!q&&marks[j].getAttribute('data-tip').toLowerCase().indexOf(q)>=0;marks[j].classList.toggle('hit',hit);if(hit)show=true;}
    l.classList.toggle('hidden',!show);if(show)n++;}
  count.textContent=q?n+' of '+lanes.length+' processes':'';
});
})();
`;

/** The page's one style block and one script are allowed by hash; nothing else may style, run, load or submit. */
const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const csp = (css: string): string =>
  `default-src 'none'; style-src ${sha256(css)}; script-src ${sha256(JS)}; base-uri 'none'; form-action 'none'`;

/**
 * Processes in tree order (parents before children), with depth. Siblings whose subtree holds the process
 * that stands out most (`weight`) come first, then those holding more of it, then by start: the lanes an
 * analyst is after open the page, and a busy tree of ordinary processes does not push them down.
 */
function treeOrder(
  processes: readonly ProcessEntity[],
  weight: ReadonlyMap<string, number>,
): Array<{ p: ProcessEntity; depth: number }> {
  const ids = new Set(processes.map((p) => p.id));
  const kids = new Map<string, ProcessEntity[]>();
  const roots: ProcessEntity[] = [];
  for (const p of processes) {
    if (p.parentId !== undefined && ids.has(p.parentId)) {
      const l = kids.get(p.parentId);
      if (l) l.push(p);
      else kids.set(p.parentId, [p]);
    } else roots.push(p);
  }
  // Subtree weights (the heaviest process, the sum), children before parents (iteratively: a hostile
  // session may nest deeply).
  const most = new Map<string, number>();
  const total = new Map<string, number>();
  const post: ProcessEntity[] = [];
  const walk = [...roots];
  while (walk.length > 0) {
    const p = walk.pop()!;
    post.push(p);
    for (const k of kids.get(p.id) ?? []) walk.push(k);
  }
  for (let i = post.length - 1; i >= 0; i--) {
    const p = post[i]!;
    let w = weight.get(p.id) ?? 0;
    let m = w;
    for (const k of kids.get(p.id) ?? []) {
      w += total.get(k.id) ?? 0;
      m = Math.max(m, most.get(k.id) ?? 0);
    }
    total.set(p.id, w);
    most.set(p.id, m);
  }
  const order = (a: ProcessEntity, b: ProcessEntity) =>
    (most.get(b.id) ?? 0) - (most.get(a.id) ?? 0) || (total.get(b.id) ?? 0) - (total.get(a.id) ?? 0) || byStart(a, b);
  const out: Array<{ p: ProcessEntity; depth: number }> = [];
  const stack = roots
    .sort(order)
    .reverse()
    .map((p) => ({ p, depth: 0 }));
  while (stack.length > 0) {
    const x = stack.pop()!;
    out.push(x);
    for (const k of (kids.get(x.p.id) ?? []).sort(order).reverse()) stack.push({ p: k, depth: x.depth + 1 });
  }
  return out;
}

/** At most this many examples per line of the "what stands out" list. */
const EXAMPLES = 4;

const who = (p: ProcessEntity | undefined): string => (p ? `${p.comm} [${p.pid}]` : "(process unknown)");

/** One line: a count, what (singular, plural), and its first examples. */
function factLine(n: number, what: [string, string], examples: string[]): string {
  const more = n > EXAMPLES ? `; +${n - EXAMPLES} more` : "";
  return `<li>${esc(`${n} ${n === 1 ? what[0] : what[1]}: ${examples.slice(0, EXAMPLES).join("; ")}${more}`)}</li>`;
}

/** The short list above the lanes: what an analyst looks at first. */
function standoutHtml(s: Standout): string {
  const items: string[] = [];
  const exec = s.deleted.filter((d) => d.executedBy.length > 0);
  if (exec.length > 0)
    items.push(
      factLine(
        exec.length,
        ["file executed, then deleted", "files executed, then deleted"],
        exec.map((d) => `${d.path} (run by ${d.executedBy.map(who).join(", ")}, deleted by ${who(d.by)})`),
      ),
    );
  const plain = s.deleted.filter((d) => d.executedBy.length === 0);
  if (plain.length > 0)
    items.push(
      factLine(
        plain.length,
        ["deleted file", "deleted files"],
        plain.map((d) => `${d.path} (by ${who(d.by)})`),
      ),
    );
  if (s.failedConnections.length > 0)
    items.push(
      factLine(
        s.failedConnections.length,
        ["failed connection", "failed connections"],
        s.failedConnections.map(
          (c) =>
            `${c.comm ? `${c.comm} [${c.pid}]` : "(owner unknown)"} ${c.outcome} ${c.direction === "inbound" ? "←" : "→"} ${shownEnd(c)}`,
        ),
      ),
    );
  if (s.failedExits.length > 0)
    items.push(
      factLine(
        s.failedExits.length,
        ["non-zero exit", "non-zero exits"],
        s.failedExits.map(
          (p) => `${who(p)} ${p.exitSignal !== undefined ? `killed by signal ${p.exitSignal}` : `exit ${p.exitCode}`}`,
        ),
      ),
    );
  if (s.talkers.length > 0)
    items.push(
      `<li>${esc(`top talkers: ${s.talkers.map((t) => `${who(t.p)} ${t.connections} connection${t.connections === 1 ? "" : "s"}${t.retransmits > 0 ? `, ${t.retransmits} retransmits` : ""}`).join("; ")}`)}</li>`,
    );
  items.push(
    s.lostEvents > 0n
      ? `<li>${esc(`${s.lostEvents} events lost in ${s.lossGaps} gap(s)`)}</li>`
      : `<li class="none">no events lost</li>`,
  );
  return `<section class="standout" id="standout"><h2>What stands out</h2><ul>${items.join("")}</ul></section>\n`;
}

/** What another report (hunt) adds to the page: marks on process lanes and a list above them; html.ts escapes all of it. */
export interface HtmlExtras {
  title: string;
  marks: ReadonlyArray<{ processId: string; timeNs: bigint; cls: string; tip: string }>;
  items: ReadonlyArray<{ text: string; cls: string }>;
  /** Style rules for those marks and items: a constant of the caller's code, never session text. */
  css: string;
}

const cssClass = (s: string): string => s.replace(/[^a-z0-9-]/g, "");

export interface HtmlOptions {
  /** Lanes for kernel threads and idle snapshot processes too, instead of one line counting them. */
  all?: boolean;
}

export function renderHtml(r: Replay, extra?: HtmlExtras, opts: HtmlOptions = {}): string {
  const events = timelineEvents(r);
  const facts = standout(r);
  const folded = opts.all ? undefined : foldedProcesses(r);
  // A process another report marks (a hunt finding) keeps its lane.
  for (const m of extra?.marks ?? []) {
    folded?.kernel.delete(m.processId);
    folded?.idle.delete(m.processId);
  }
  const shown = folded ? r.processes.filter((p) => !folded.kernel.has(p.id) && !folded.idle.has(p.id)) : r.processes;
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  const see = (t: bigint | undefined) => {
    if (t === undefined) return;
    if (lo === undefined || t < lo) lo = t;
    if (hi === undefined || t > hi) hi = t;
  };
  for (const s of r.sessions) {
    see(s.startNs);
    see(s.endNs);
    see(s.lastRecordNs);
  }
  // The recording's span; events only where a session's bounds are unknown: a process first seen in the
  // recording but started long before it would otherwise squash the whole recording into the last pixels.
  if (lo === undefined || hi === undefined || lo === hi)
    for (const e of events) if (e.kind !== "process.snapshot" && e.kind !== "connection.snapshot") see(e.timeNs);
  const from = lo ?? 0n;
  const span = hi !== undefined && hi > from ? hi - from : 1n;
  const pct = (t: bigint): string => {
    const c = t < from ? from : t > from + span ? from + span : t;
    return `${(Number(((c - from) * 1_000_000n) / span) / 10_000).toFixed(4)}%`;
  };

  const marks = new Map<string, string[]>();
  for (const e of events) {
    const cls = MARK_CLASS[e.kind];
    if (!cls || e.processId === null) continue;
    const tip = escLines(`${isoFromNs(e.timeNs)}  ${e.kind}`, e.message);
    const html = `<span class="mark mark-${cls}" data-kind="${e.kind}" data-x="${pct(e.timeNs)}" data-tip="${tip}" title="${tip}"></span>`;
    const l = marks.get(e.processId);
    if (l) l.push(html);
    else marks.set(e.processId, [html]);
  }
  for (const m of extra?.marks ?? []) {
    const html = `<span class="mark mark-${cssClass(m.cls)}" data-x="${pct(m.timeNs)}" data-tip="${esc(m.tip)}" title="${esc(m.tip)}"></span>`;
    const l = marks.get(m.processId);
    if (l) l.push(html);
    else marks.set(m.processId, [html]);
  }

  const lanes = treeOrder(shown, facts.weight).map(({ p, depth }) => {
    const start = p.origin === "snapshot" ? from : (p.forkNs ?? p.startNs);
    const end = p.exitNs ?? from + span;
    const left = pct(start);
    const width = `${Math.max(0.2, parseFloat(pct(end)) - parseFloat(left)).toFixed(4)}%`;
    const argv = p.execs.map(imageText).join(" | ");
    const exit =
      p.exitNs === undefined
        ? "running at end"
        : p.exitSignal !== undefined
          ? `killed by signal ${p.exitSignal}`
          : `exit ${p.exitCode}`;
    const info = escLines(
      `${p.comm} [${p.pid}] ${p.origin}`,
      `id ${p.id}`,
      `parent ${p.parentId ?? "?"} (${p.parentOrigin})`,
      `started ${isoFromNs(p.startNs)}`,
      exit,
      ...(argv ? [argv] : []),
    );
    const search = `${p.comm} ${p.pid} ${argv}`.toLowerCase();
    return `<div class="lane" data-process-id="${esc(p.id)}" data-search="${esc(search)}"><div class="label" data-pad="${6 + depth * 12}px" data-tip="${info}">${esc(p.comm)} [${p.pid}]</div><div class="track"><div class="life${p.origin === "snapshot" ? " snapshot" : ""}" data-x="${left}" data-w="${width}"></div>${(marks.get(p.id) ?? []).join("")}</div></div>`;
  });

  if (folded && folded.kernel.size + folded.idle.size > 0)
    lanes.unshift(`<div class="folded">${esc(foldedLine(folded))}</div>`);
  const gaps = r.losses.map((l) => {
    const tip = escLines(`${l.count} ${l.bundle} events lost`, `${isoFromNs(l.fromNs)} – ${isoFromNs(l.toNs)}`);
    return `<div class="gap" data-bundle="${esc(l.bundle)}" data-x="${pct(l.fromNs)}" data-w="${Math.max(0.3, parseFloat(pct(l.toNs)) - parseFloat(pct(l.fromNs))).toFixed(4)}%" title="${tip}"></div>`;
  });
  const cut = r.sessions
    .filter((s) => s.cutOff && s.lastRecordNs !== undefined)
    .map(
      (s) =>
        `<div class="cutoff" data-x="${pct(s.lastRecordNs!)}" title="${esc(`${s.path}: ${s.status}, unreadable after ${isoFromNs(s.lastRecordNs!)}`)}"></div>`,
    );
  const banners = r.sessions
    .filter((s) => s.cutOff)
    .map(
      (s) =>
        `<div class="banner cutoff-banner">${esc(`${s.path}: ${s.status} — ${s.verdictReason}. Replayed up to its readable end, ${s.lastRecordNs === undefined ? "no records" : isoFromNs(s.lastRecordNs)}.`)}</div>`,
    );
  const lossBanner =
    r.losses.length > 0
      ? `<div class="banner loss-banner">${esc(`${r.losses.reduce((n, l) => n + l.count, 0n)} events lost in ${r.losses.length} gap(s): hatched bands below`)}</div>`
      : "";
  const sessions = r.sessions.map(
    (s) =>
      `<div class="session">${esc(`${s.hostname} · session ${s.sessionId.slice(0, 16)} · ${s.startNs === undefined ? "?" : isoFromNs(s.startNs)} · ${s.status}`)}</div>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = from + (span * BigInt(Math.round(f * 1000))) / 1000n;
    return `<span data-x="${(f * 100).toFixed(0)}%">${f === 0 ? isoFromNs(t).slice(11, 23) : `+${formatDurationNs(t - from)}`}</span>`;
  });

  // The caller's style rules join the page's one style block, and so its hash.
  const css = CSS + (extra?.css ?? "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp(css)}">
<title>${esc(extra?.title ?? "sealtrace replay")}</title><style>${css}</style></head>
<body>
<header><h1>${esc(extra?.title ?? "sealtrace replay")}</h1>${sessions.join("")}</header>
${banners.join("\n")}${lossBanner}
${standoutHtml(facts)}${extra?.items.length ? `<ul class="extra">${extra.items.map((i) => `<li class="${cssClass(i.cls)}">${esc(i.text)}</li>`).join("")}</ul>\n` : ""}<div class="controls"><input id="search" type="search" placeholder="search comm, pid, argv, address, path"> <span id="count"></span>
<span class="legend"><span class="mark-exec">&nbsp;&nbsp;</span> exec <span class="mark-exit">&nbsp;&nbsp;</span> exit <span class="mark-connect">&nbsp;&nbsp;</span> connect <span class="mark-connfail">&nbsp;&nbsp;</span> failed <span class="mark-retransmit">&nbsp;&nbsp;</span> retransmit <span class="mark-file">&nbsp;&nbsp;</span> file write</span></div>
<div id="lanes"><div class="axis">${ticks.join("")}</div>
${lanes.join("\n")}
<div class="overlay">${gaps.join("")}${cut.join("")}</div></div>
<div id="tip"></div>
<script>${JS}</script>
</body></html>
`;
}
