// `--format jsonl` (one event per line, for SIEMs) and `--format timesketch` (Timesketch's JSONL import:
// message, datetime, timestamp_desc, plus flat process keys).
import { timelineEvents, type TimelineEvent } from "./events.js";
import type { Replay } from "./model.js";
import { exactJson } from "./exactjson.js";
import { isoFromNs, microsFromNs } from "./time.js";

function eventJson(e: TimelineEvent) {
  return {
    time: isoFromNs(e.timeNs),
    type: e.kind,
    host: e.host,
    processId: e.processId,
    pid: e.pid,
    comm: e.comm,
    message: e.message,
    ...e.details,
  };
}

export function renderJsonl(r: Replay): string {
  return timelineEvents(r)
    .map((e) => exactJson(eventJson(e)) + "\n")
    .join("");
}

const TIMESTAMP_DESC: Record<string, string> = {
  "session.start": "Recording Start",
  "session.end": "Recording End",
  "session.cutoff": "Recording Cut Off",
  "process.start": "Process Start",
  "process.snapshot": "Process Start",
  "process.exec": "Process Exec",
  "process.exit": "Process Exit",
  "connection.attempt": "Connection Attempt",
  "connection.established": "Connection Established",
  "connection.failed": "Connection Failed",
  "connection.close": "Connection Closed",
  "connection.snapshot": "Connection Seen",
  "connection.retransmit": "TCP Retransmit",
  "connection.reset": "TCP Reset",
  "file.write": "First Write",
  "file.delete": "File Deleted",
  "file.rename": "File Renamed",
  "file.chmod": "File Mode Changed",
  loss: "Events Lost",
};

export function renderTimesketch(r: Replay): string {
  const hostname = new Map(r.sessions.map((s) => [s.host, s.hostname]));
  return timelineEvents(r)
    .map(
      (e) =>
        exactJson({
          message: e.message,
          datetime: isoFromNs(e.timeNs),
          timestamp: microsFromNs(e.timeNs),
          timestamp_desc: TIMESTAMP_DESC[e.kind] ?? e.kind,
          data_type: `sealtrace:${e.kind.replace(".", ":")}`,
          hostname: hostname.get(e.host) ?? e.host,
          process_id: e.processId,
          pid: e.pid,
          comm: e.comm,
          ...e.details,
        }) + "\n",
    )
    .join("");
}
