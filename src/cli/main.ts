#!/usr/bin/env node
// Entry point. Turns on Node's module compile cache where it exists (Node >= 22.1) before loading the
// rest, so later starts skip recompiling: time to attach probes is what the on-call engineer waits for.
import module from "node:module";

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { main } = await import("./program.js");

// `sealtrace ... | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv);
