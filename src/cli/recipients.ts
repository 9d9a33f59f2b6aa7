// Where recipients come from, in order: flags (-r, -R FILE), the runbook, $SEALTRACE_RECIPIENTS, a config file.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { isAgeRecipient } from "../session/recipient.js";

/** Config files holding recipients, one per line (# comments allowed). */
export function recipientConfigPaths(): string[] {
  const paths = [];
  if (process.env.SUDO_USER) paths.push(join("/home", process.env.SUDO_USER, ".config", "sealtrace", "recipients"));
  paths.push(
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "sealtrace", "recipients"),
    "/etc/sealtrace/recipients",
  );
  return paths;
}

/** Parses a recipients file (age's format: one recipient per line, # comments). Throws UserError naming file:line. */
export function parseRecipientsFile(text: string, path: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    if (!isAgeRecipient(line))
      throw new UserError(`${path}:${i + 1}: not an age recipient (age1…): ${line.slice(0, 20)}`, "bad-input");
    out.push(line);
  });
  return out;
}

export function checkRecipient(r: string, source: string): string {
  if (!isAgeRecipient(r))
    throw new UserError(
      `${source}: '${r.slice(0, 24)}' is not an age recipient (age1…, 62 characters); make one with 'sealtrace keygen'`,
      "bad-input",
    );
  return r;
}

export interface RecipientSources {
  flags: string[];
  files: string[];
  runbook: string[];
}

/** The recipients to seal to, and where they came from. Empty when no source names any. */
export function resolveRecipients(s: RecipientSources): { recipients: string[]; source: string } {
  const fromFlags = [
    ...s.flags.map((r) => checkRecipient(r, "-r")),
    ...s.files.flatMap((f) => {
      if (!existsSync(f)) throw new UserError(`recipients file ${f} does not exist`, "bad-input");
      return parseRecipientsFile(readFileSync(f, "utf8"), f);
    }),
  ];
  if (fromFlags.length) return { recipients: [...new Set(fromFlags)], source: "flags" };
  if (s.runbook.length) return { recipients: s.runbook, source: "runbook" };
  const env = process.env.SEALTRACE_RECIPIENTS;
  if (env?.trim())
    return {
      recipients: env
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((r) => checkRecipient(r, "SEALTRACE_RECIPIENTS")),
      source: "SEALTRACE_RECIPIENTS",
    };
  for (const p of recipientConfigPaths()) {
    if (existsSync(p)) {
      const r = parseRecipientsFile(readFileSync(p, "utf8"), p);
      if (r.length) return { recipients: r, source: p };
    }
  }
  return { recipients: [], source: "none" };
}
