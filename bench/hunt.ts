// bench/hunt: events/s of `sealtrace hunt` with 500 Sigma rules (the built-in pack plus generated ones of
// every category and modifier kind) over the large synthetic session of bench/replay-memory
// (bench/lib/session-mix.ts), against replay's own events/s (load + `summary` view) measured on the same
// file in the same run. Each measurement runs in a fresh child process, as the CLI would.
// Usage: node dist/bench/hunt.js [--gib 1] [--rules 500] [--keep] [--reuse FILE (its key in FILE.key)]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { loadSessions } from "../src/replay/load.js";
import { boundHeapGrowth } from "../src/replay/heap.js";
import { renderChunks } from "../src/replay/render.js";
import { terminalText } from "../src/replay/text/style.js";
import { huntReplay } from "../src/hunt/evaluate.js";
import { buildReport } from "../src/hunt/report.js";
import { BUILTIN_RULES, loadRuleSet } from "../src/hunt/ruleset.js";
import { huntTextLines } from "../src/hunt/text.js";
import { runChild } from "./lib/child.js";
import { DEFAULT_MIX, writeMixSession, type MixResult } from "./lib/session-mix.js";

const self = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;

interface Measured {
  mode: string;
  events: number;
  sigmaEvents: number;
  rules: number;
  findings: number;
  compileMs: number;
  loadMs: number;
  huntMs: number;
  renderMs: number;
  maxRssMiB: number;
}

const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** `n` generated rules, a few per YAML file: realistic shapes (lists, all, re, cidr, not-filters), most never matching. */
function writeRules(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const head = `title: generated ${i}\nid: 00000000-0000-4000-9000-${String(i).padStart(12, "0")}\nlevel: ${["low", "medium", "high"][i % 3]}\ntags: [attack.t${1000 + i}]\n`;
    const k = i % 8;
    const body =
      k === 0
        ? `logsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: ['/tool${i}', '/bin${i}x', '/curl${i % 7 === 0 ? "" : i}']\n    CommandLine|contains|all: ['--flag${i}', 'http']\n  filter:\n    User: '${i}'\n  condition: sel and not filter\n`
        : k === 1
          ? `logsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    CommandLine|re: 'evil${i}[0-9]+\\s'\n  parent:\n    ParentImage|startswith: ['/opt/p${i}/', '/srv/${i}/']\n  condition: sel or parent\n`
          : k === 2
            ? `logsource: {product: linux, category: network_connection}\ndetection:\n  sel:\n    DestinationIp|cidr: ['203.0.${i % 256}.0/24', '2001:db8:${i.toString(16)}::/48']\n    DestinationPort: [${1000 + i}, ${20000 + i}]\n  condition: sel\n`
            : k === 3
              ? `logsource: {product: linux, category: network_connection}\ndetection:\n  sel_a:\n    Initiated: 'true'\n    Image|endswith: '/implant${i}'\n  sel_b:\n    Retransmits|gte: ${100000 + i}\n  condition: 1 of sel_*\n`
              : k === 4
                ? `logsource: {product: linux, category: file_event}\ndetection:\n  sel:\n    TargetFilename|startswith: '/opt/app${i}/'\n  sel2:\n    TargetFilename|endswith: ['.x${i}', '.y${i}']\n  condition: sel or sel2\n`
                : k === 5
                  ? `logsource: {product: linux, category: file_event}\ndetection:\n  sel:\n    TargetFilename|contains: '/secret${i}/'\n    Image|endswith: ['/cp', '/dd', '/tar']\n  condition: sel\n`
                  : k === 6
                    ? `logsource: {product: linux, category: process_creation}\ndetection:\n  keywords:\n    - 'payload${i}'\n    - 'stage${i}.bin'\n  condition: keywords\n`
                    : `logsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    CommandLine|base64offset|contains: 'exec ${i}'\n  sel_dash:\n    CommandLine|windash|contains: ' -k${i} '\n  condition: all of sel*\n`;
    docs.push(head + body);
  }
  for (let f = 0; f * 10 < docs.length; f++)
    writeFileSync(join(dir, `gen-${f}.yml`), docs.slice(f * 10, f * 10 + 10).join("---\n"));
}

async function child(mode: string, path: string, rulesDir: string): Promise<Measured> {
  const identity = readFileSync(`${path}.key`, "utf8").trim();
  boundHeapGrowth();
  const t0 = performance.now();
  const set = mode === "hunt" ? loadRuleSet([BUILTIN_RULES, rulesDir], "informational") : undefined;
  const t1 = performance.now();
  const { replay, events } = await loadSessions([path], [identity]);
  const t2 = performance.now();
  if (!set) {
    for (const chunk of renderChunks(replay, "summary", "text", false))
      if (chunk.length < 0) throw new Error("unreachable");
    const t3 = performance.now();
    return {
      mode,
      events,
      sigmaEvents: 0,
      rules: 0,
      findings: 0,
      compileMs: 0,
      loadMs: t2 - t1,
      huntMs: 0,
      renderMs: t3 - t2,
      maxRssMiB: maxRssMiB(),
    };
  }
  const h = huntReplay(replay, set.rules, set.notEvaluated);
  const t3 = performance.now();
  const { report } = buildReport(replay, h, set.belowLevel);
  terminalText(huntTextLines(report, [path]), false);
  const t4 = performance.now();
  return {
    mode,
    events,
    sigmaEvents: h.events,
    rules: set.rules.length,
    findings: h.findings.length + h.droppedFindings,
    compileMs: t1 - t0,
    loadMs: t2 - t1,
    huntMs: t3 - t2,
    renderMs: t4 - t3,
    maxRssMiB: maxRssMiB(),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "child") {
    console.log(JSON.stringify(await child(argv[1]!, argv[2]!, argv[3]!)));
    return;
  }
  if (argv[0] === "rules") {
    writeRules(argv[1]!, Number(argv[2]));
    return;
  }
  if (argv[0] === "generate") {
    const identity = await generateX25519Identity();
    writeFileSync(`${argv[1]!}.key`, identity + "\n", { mode: 0o600 });
    const r = await writeMixSession(argv[1]!, await identityToRecipient(identity), {
      ...DEFAULT_MIX,
      targetBytes: Number(argv[2]),
    });
    console.log(JSON.stringify(r));
    return;
  }
  const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const gib = Number(option("--gib") ?? 1);
  const total = Number(option("--rules") ?? 500);
  if (!(gib > 0)) throw new Error("--gib: expected a positive number");
  const reuse = option("--reuse");
  const keep = argv.includes("--keep") || reuse !== undefined;
  const dir = reuse ? dirname(reuse) : mkdtempSync(join(tmpdir(), "sealtrace-bench-hunt-"));
  const path = reuse ?? join(dir, "big.sealed");
  const rulesDir = mkdtempSync(join(tmpdir(), "sealtrace-bench-hunt-rules-"));
  try {
    const builtin = loadRuleSet([BUILTIN_RULES], "informational").rules.length;
    writeRules(rulesDir, total - builtin);
    if (!reuse) {
      const fs = statfsSync(dir);
      if (fs.bavail * fs.bsize < gib * 2 ** 30 * 1.5) throw new Error(`${dir}: not enough free space for ${gib} GiB`);
      const gen = JSON.parse(runChild(self, ["generate", path, String(Math.round(gib * 2 ** 30))])) as MixResult;
      console.log(`generated ${gen.events} events in ${gen.seconds.toFixed(0)} s`);
    }
    console.log(
      `sealed file: ${(statSync(path).size / MiB).toFixed(0)} MiB; rules: ${builtin} built-in + ${total - builtin} generated`,
    );
    console.log(
      "| run | events | rules | Sigma events | findings | compile s | load s | hunt s | render s | events/s (all) | peak RSS |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    const rate: Record<string, number> = {};
    for (const mode of ["replay", "hunt"]) {
      const m = JSON.parse(runChild(self, ["child", mode, path, rulesDir])) as Measured;
      const all = m.compileMs + m.loadMs + m.huntMs + m.renderMs;
      rate[mode] = m.events / (all / 1000);
      console.log(
        `| ${mode} | ${m.events} | ${m.rules} | ${m.sigmaEvents} | ${m.findings} | ${(m.compileMs / 1000).toFixed(2)} | ${(m.loadMs / 1000).toFixed(1)} | ${(m.huntMs / 1000).toFixed(2)} | ${(m.renderMs / 1000).toFixed(2)} | ${(rate[mode]! / 1e6).toFixed(2)} M | ${m.maxRssMiB.toFixed(0)} MiB |`,
      );
    }
    console.log(`hunt / replay events/s: ${((rate.hunt! / rate.replay!) * 100).toFixed(0)}% (target >= 50%)`);
  } finally {
    rmSync(rulesDir, { recursive: true, force: true });
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
