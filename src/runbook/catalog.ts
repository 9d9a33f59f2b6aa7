// The shipped runbooks (runbooks/*.yaml) and resolving `--runbook NAME|FILE`.
import { existsSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadRunbook, type Runbook } from "./runbook.js";
import { UserError } from "../errors.js";

/** runbooks/ in the package (dist/src/runbook → ../../../runbooks). */
export function shippedRunbooksDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "runbooks");
}

/** Every shipped runbook, parsed. Throws on a broken shipped runbook (a bug caught by the tests). */
export function listRunbooks(): Runbook[] {
  const dir = shippedRunbooksDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => loadRunbook(join(dir, f)));
}

/** A shipped runbook by name, or a runbook file by path. Throws UserError naming the choices when neither exists. */
export function resolveRunbook(nameOrPath: string): Runbook {
  if (nameOrPath.includes("/") || nameOrPath.endsWith(".yaml") || nameOrPath.endsWith(".yml")) {
    if (!existsSync(nameOrPath)) throw new UserError(`runbook file ${nameOrPath} does not exist`, "bad-input");
    return loadRunbook(nameOrPath);
  }
  const path = join(shippedRunbooksDir(), `${nameOrPath}.yaml`);
  if (!existsSync(path)) {
    const names = readdirSync(shippedRunbooksDir())
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.slice(0, -5));
    throw new UserError(
      `no runbook named '${nameOrPath}'; shipped runbooks: ${names.join(", ")} (or give a file path)`,
      "bad-input",
    );
  }
  return loadRunbook(path);
}
