// Why the kernel refused a bundle, as one line that names the missing feature: the line `doctor`
// prints for the bundle and the line `record` fails with are this one function's output, so they agree.
import type { BundleName } from "../bundles/spec.js";
import { UserError, isUserError } from "../errors.js";

/** Longest reason kept: a verifier line can quote a whole instruction. */
const MAX_REASON = 200;

/**
 * Turns an unsupported failure (UserError(unsupported)) while loading, attaching or running `bundle` into
 * `bundle NAME: REASON` (also unsupported), keeping the libbpf log as detail. Anything else (a bug) is returned
 * unchanged, so it still shows its stack.
 */
export function bundleRefused(bundle: BundleName, e: unknown): unknown {
  if (!isUserError(e) || e.kind !== "unsupported" || e.message.startsWith("bundle ")) return e;
  return new UserError(`bundle ${bundle}: ${refusalReason(e.message, e.detail ?? "")}`, "unsupported", {
    cause: e,
    ...(e.detail ? { detail: e.detail } : {}),
  });
}

/**
 * The exact missing feature, from libbpf's log when it names one: an unresolved CO-RE relocation
 * (a struct or field this kernel's BTF lacks), an extern kfunc/ksym the kernel does not export, or
 * the verifier's own last word; otherwise the error's message.
 */
export function refusalReason(message: string, log: string): string {
  const lines = log
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const prog = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log)?.[1];
  const inProg = (s: string) => clip(prog ? `program ${prog}: ${s}` : s);

  const core = lines.find((l) => l.startsWith("failed to resolve CO-RE relocation"));
  if (core) {
    // "failed to resolve CO-RE relocation <byte_off> [52] struct trace_event_raw_x.field (0:2 @ offset 16)"
    const m = /^failed to resolve CO-RE relocation <([^>]+)> \[\d+\] (.+?)(?: \([\d:]+ @ offset \d+\))?$/.exec(core);
    return inProg(m ? `CO-RE: ${m[2]} not found in this kernel (${m[1]} relocation)` : core);
  }
  const ext = lines.map((l) => /extern \(([^)]+)\) '([^']+)': not found/.exec(l)).find(Boolean);
  if (ext) return clip(`${ext[1] === "func ksym" ? "kernel function" : ext[1]} ${ext[2]} not found in this kernel`);

  // The verifier's last word: the line before "processed N insns" (or before the log's end).
  const begin = lines.findIndex((l) => l.includes("-- BEGIN PROG LOAD LOG --"));
  const end = lines.findIndex((l) => l.startsWith("-- END PROG LOAD LOG --"));
  if (begin >= 0) {
    const verifier = lines
      .slice(begin + 1, end > begin ? end : undefined)
      .filter((l) => !/^processed \d+ insns|^verification time|^stack depth/.test(l));
    const last = verifier.at(-1);
    // The source line the verifier stopped at (it quotes "; <C source>" before each statement) names
    // what an opaque "invalid func unknown#158" is.
    const source = verifier
      .slice(0, -1)
      .filter((l) => l.startsWith("; "))
      .at(-1)
      ?.slice(2);
    if (last) return inProg(`verifier: ${last}${source ? ` (at: ${source})` : ""}`);
  }
  // libbpf refused before the kernel saw it (e.g. BTF sanitizing, map creation).
  const libbpfErr = lines
    .filter(
      (l) => l.startsWith("libbpf: ") && !/failed to load object|BPF program load failed|failed to load: -\d+/.test(l),
    )
    .at(-1);
  return clip(libbpfErr ? `${message} (${libbpfErr.replace(/^libbpf: /, "")})` : message);
}

/** One line of printable text at most MAX_REASON long: the log comes from the kernel, not from us. */
function clip(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > MAX_REASON ? `${clean.slice(0, MAX_REASON - 1)}…` : clean;
}
