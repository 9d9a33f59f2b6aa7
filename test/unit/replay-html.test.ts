// The HTML report in a real browser (Debian chromium via playwright-core): loads with no console errors
// and no network, one lane per process, exec/exit/connect/retransmit/file marks in the DOM, search works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readIdentityFile } from "../../src/session/identity.js";
import { loadSessions } from "../../src/replay/load.js";
import { renderHtml } from "../../src/replay/html.js";
import { foldedProcesses } from "../../src/replay/text/tree.js";
import { tempDir } from "./session-helpers.js";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const CHROMIUM = "/usr/bin/chromium";

test(
  "HTML report: no console errors, one lane per process, marks present, search filters lanes",
  { skip: existsSync(CHROMIUM) ? false : "needs Debian chromium (apt-get install -y chromium)" },
  async () => {
    const { chromium } = await import("playwright-core");
    const ids = await readIdentityFile(join(ROOT, "fixtures/replay/test-identity.key"));
    const replay = (await loadSessions([join(ROOT, "fixtures/replay/chain.sealed")], ids)).replay;
    const { dir, cleanup } = tempDir("replay-html");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const file = join(dir, "report.html");
      const html = renderHtml(replay);
      writeFileSync(file, html);
      // The CSP allows the page's own blocks by hash only: no 'unsafe-inline', no style or on* attributes.
      const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? "";
      assert.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
      assert.ok(!csp.includes("unsafe"), csp);
      assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) problems.push(`network: ${r.url()}`);
      });
      await page.goto(`file://${file}`);
      const png = await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
      assert.ok(png.length > 10_000, "a screenshot with content");
      assert.deepEqual(problems, []);
      // Positions are applied by the hashed script (so it ran): marks sit at their times, not all at 0.
      const lefts = await page
        .locator(".lane .mark")
        .evaluateAll((els) => els.map((e) => (e as unknown as { style: { left: string } }).style.left));
      assert.ok(
        lefts.length > 0 && lefts.every((l) => l.endsWith("%")) && new Set(lefts).size > 1,
        `mark positions ${lefts.slice(0, 5).join(" ")}`,
      );
      // Kernel threads and idle snapshot processes fold into one line; the lanes are the processes that did something.
      const folded = foldedProcesses(replay);
      assert.ok(folded.kernel.size + folded.idle.size > 0, "the fixture has processes to fold");
      assert.equal(
        await page.locator(".lane").count(),
        replay.processes.length - folded.kernel.size - folded.idle.size,
      );
      assert.equal(
        await page.locator(".folded").textContent(),
        `${folded.kernel.size} kernel thread${folded.kernel.size === 1 ? "" : "s"}, ${folded.idle.size} idle process${folded.idle.size === 1 ? "" : "es"}; --all shows them`,
      );
      assert.equal(
        (renderHtml(replay, undefined, { all: true }).match(/<div class="lane"/g) ?? []).length,
        replay.processes.length,
      );
      assert.match((await page.locator("#standout").textContent()) ?? "", /What stands out/);
      for (const kind of ["exec", "exit", "connect", "connfail", "reset", "file", "fileop"]) {
        assert.ok((await page.locator(`.lane .mark-${kind}`).count()) > 0, `${kind} marks`);
      }
      const stage = replay.processes.find((p) => p.execs.some((e) => e.filename.endsWith("/stage.sh")))!;
      const lane = page.locator(`.lane[data-process-id="${stage.id}"]`);
      assert.equal(await lane.locator(".mark-exec").count(), 2, "both images of the in-place exec chain");
      // dispatchEvent, not hover(): hover waits for two animation frames, which this headless flag set may never paint.
      await lane.locator(".mark-exec").first().dispatchEvent("mouseover");
      assert.match((await page.locator("#tip").textContent()) ?? "", /process\.exec/);
      await page.fill("#search", "loot.bin");
      const visible = await page.locator(".lane:not(.hidden)").count();
      assert.ok(
        visible >= 1 && visible < (await page.locator(".lane").count()),
        `search narrows the lanes (${visible})`,
      );
    } finally {
      await browser.close();
      cleanup();
    }
  },
);
