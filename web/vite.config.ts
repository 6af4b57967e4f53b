/**
 * The dashboard's build: `npm run build:web` writes dist/web, which `veritrace serve` serves from
 * the API's origin. Everything is bundled (no CDN, no remote font): the machines are offline.
 */
import path from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: path.resolve(import.meta.dirname, "../dist/web"),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
