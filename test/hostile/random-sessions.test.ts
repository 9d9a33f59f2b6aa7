// Property (issue 13 acceptance): random valid-but-hostile sessions, written with SessionWriter to a test
// key (random records, kernel records, schemas, clocks and metadata), replay in every view and format
// and hunt (built-in rules, every hunt format) with a clear UserError (exit 2, 5, 6 or 7) at worst: never
// a bug's exception, a hang or unbounded memory.
// The property runs in a worker (random-sessions-worker.ts): a synchronous loop cannot be interrupted on
// this thread, and the worker's heap limit turns "more than the stated memory" into a failure.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { workspace } from "./hostile-run.js";

/** Stated bounds (docs/REPLAY.md "Limits"): per random session, for the whole run, and the worker's heap. */
const RUN_MS = 15_000;
const ALL_MS = 180_000;
const HEAP_MIB = 512;
const RUNS = 60;

const ws = await workspace();
after(() => ws.cleanup());

test(
  `property: ${RUNS} random hostile sessions replay in every view and format, or stop with exit 2/5/6/7`,
  { timeout: ALL_MS + 10_000 },
  async () => {
    const worker = new Worker(new URL("./random-sessions-worker.js", import.meta.url), {
      workerData: {
        dir: ws.dir,
        identity: readFileSync(ws.identityPath, "utf8").trim(),
        recipient: ws.recipient,
        runs: RUNS,
        runMs: RUN_MS,
      },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MIB },
    });
    let timer: NodeJS.Timeout | undefined;
    const result = await new Promise<{
      ok: boolean;
      error?: string;
      outcomes?: Record<string, number>;
      worstMs?: number;
      worstRssMiB?: number;
    }>((resolve) => {
      timer = setTimeout(() => {
        void worker.terminate();
        resolve({ ok: false, error: `no answer in ${ALL_MS} ms: a hang` });
      }, ALL_MS);
      worker.once("message", resolve);
      worker.once("error", (e) => resolve({ ok: false, error: `worker died: ${e.message}` })); // ERR_WORKER_OUT_OF_MEMORY past HEAP_MIB
    });
    clearTimeout(timer);
    await worker.terminate();
    assert.ok(result.ok, result.error);
    const o = result.outcomes!;
    // Both paths must be exercised, or the generator has drifted into testing only one of them.
    assert.ok(o.withEvents! > RUNS / 20 && o.refused! > RUNS / 20, JSON.stringify(o));
    console.log(
      `# ${RUNS} random sessions (${JSON.stringify(o)}): slowest ${result.worstMs!.toFixed(0)} ms, peak RSS ${result.worstRssMiB!.toFixed(0)} MiB (test process)`,
    );
  },
);
