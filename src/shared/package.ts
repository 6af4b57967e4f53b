/**
 * The package's own files, wherever it runs from: the repository (src/ run by tsx) or an
 * installed package (dist/src/ compiled). Found by walking up from this module to the nearest
 * package.json named "veritrace".
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The directory holding the package's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      const name = (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name;
      if (name === "veritrace") return (root = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("the veritrace package.json was not found above its code");
    dir = parent;
  }
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  const file = path.join(packageRoot(), "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}
