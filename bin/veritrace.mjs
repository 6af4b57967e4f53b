#!/usr/bin/env node
// The `veritrace` command. In the repository (src/ beside bin/), the TypeScript sources run
// through tsx's loader, so the command always runs the code as it is; an installed package has
// no sources and runs its compiled code (dist/), without tsx.
import { existsSync } from "node:fs";
import { URL } from "node:url";

const source = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import(new URL("../dist/src/cli/main.js", import.meta.url).href);
}
