// Interactive answers for `record` on a TTY (@inquirer/prompts). Every prompt has a flag; without a TTY
// the caller fails at once naming that flag, so nothing ever waits for input that cannot come.
import type { Runbook } from "../runbook/runbook.js";
import { listProcesses } from "../recorder/proctree.js";
import { formatDuration } from "../runbook/units.js";
import { visible } from "../replay/text/visible.js";
import { isAgeRecipient } from "../session/recipient.js";

export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true && !process.env.CI;
}

export async function pickRunbook(all: Runbook[]): Promise<Runbook> {
  const { select } = await import("@inquirer/prompts");
  const name = await select(
    {
      message: "Runbook",
      choices: all.map((r) => ({
        name: `${r.name} (${formatDuration(r.durationMs)}): ${r.description}`,
        value: r.name,
        short: r.name,
      })),
    },
    { output: process.stderr },
  );
  return all.find((r) => r.name === name)!;
}

export async function askIncident(): Promise<string> {
  const { input } = await import("@inquirer/prompts");
  return (
    await input({ message: "Incident id (for the chain of custody)", required: false }, { output: process.stderr })
  ).trim();
}

export async function askRecipient(): Promise<string> {
  const { input } = await import("@inquirer/prompts");
  return (
    await input(
      {
        message: "Recipient public key (age1…)",
        required: true,
        validate: (s) => isAgeRecipient(s.trim()) || "an age recipient: age1… (62 characters)",
      },
      { output: process.stderr },
    )
  ).trim();
}

export async function pickProcess(): Promise<number> {
  const { search } = await import("@inquirer/prompts");
  const procs = listProcesses()
    .filter((p) => p.pid !== process.pid)
    .sort((a, b) => b.pid - a.pid);
  return search(
    {
      message: "Target process (type to filter)",
      source: (term) => {
        const t = (term ?? "").toLowerCase();
        return (
          procs
            .filter(
              (p) =>
                !t ||
                String(p.pid).includes(t) ||
                p.comm.toLowerCase().includes(t) ||
                p.cmdline.toLowerCase().includes(t),
            )
            .slice(0, 50)
            // comm and cmdline are chosen by whoever runs the process: shown through visible().
            .map((p) => ({
              name: `${String(p.pid).padStart(7)}  ${visible(p.comm).padEnd(15)}  ${visible(p.cmdline).slice(0, 60)}`,
              value: p.pid,
            }))
        );
      },
    },
    { output: process.stderr },
  );
}

export async function confirmStart(summary: string): Promise<boolean> {
  const { confirm } = await import("@inquirer/prompts");
  return confirm({ message: `${summary}\nStart recording?`, default: true }, { output: process.stderr });
}
