// Provenance as text lines, for `version --verbose` and `verify`: the values may come from a hostile session.

/** Keeps printable text only: a crafted session must not drive the examiner's terminal. */
function clean(v: unknown, max = 128): string {
  const s = typeof v === "string" || typeof v === "number" ? String(v) : "?";
  const out = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "?");
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** Lines describing a build, each starting with `indent`; tolerant of missing or malformed fields. */
export function provenanceLines(build: unknown, indent: string): string[] {
  const b = (build !== null && typeof build === "object" ? build : {}) as Record<string, unknown>;
  const lines = [
    `${indent}version: ${clean(b.version)}`,
    `${indent}commit:  ${clean(b.commit)} (${clean(b.source)})`,
    `${indent}node:    ${clean(b.node)}`,
    `${indent}dist:    ${clean(b.distSha256)} (dist/src, ${clean(b.distFiles)} files)`,
  ];
  const objects = Array.isArray(b.objects) ? b.objects.slice(0, 64) : [];
  for (const o of objects) {
    const obj = (o !== null && typeof o === "object" ? o : {}) as Record<string, unknown>;
    lines.push(`${indent}bpf:     ${clean(obj.sha256)}  ${clean(obj.name)}`);
  }
  return lines;
}
