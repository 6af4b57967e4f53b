/**
 * The dashboard's static files (`npm run build:web` writes them to dist/web), served by
 * `veritrace serve` from the API's origin. Only paths no API route claims reach here; files are
 * public (the API calls they make carry the bearer token). No path leaves the directory; a path
 * without a file extension that asks for HTML gets index.html (the client's routes).
 */
import { existsSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { packageRoot } from "../shared/package.js";

/** Where `npm run build:web` puts the bundle: dist/web in the package (or the repository). */
export const DEFAULT_WEB_DIR = path.join(packageRoot(), "dist", "web");

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/**
 * Everything the page loads comes from this origin; styles may be set inline (the graph library
 * and the heat map set element styles); exported pictures are data: and blob: URLs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

export interface StaticSite {
  root: string;
  /** Answers a GET or HEAD for `pathname` when a file (or the index fallback) fits; else false. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

/** The site over a built directory; throws when it has no index.html. */
export function staticSite(root: string): StaticSite {
  const dir = path.resolve(root);
  const index = path.join(dir, "index.html");
  if (!existsSync(index) || !statSync(index).isFile()) {
    throw new Error(`${dir} has no index.html: run npm run build:web`);
  }

  /** The file a URL path names inside the directory, or null for anything that would leave it. */
  const resolve = (pathname: string): string | null => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes("\0") || decoded.includes("\\")) return null;
    const file = path.resolve(dir, `.${path.posix.normalize(`/${decoded}`)}`);
    const rel = path.relative(dir, file);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return null;
    if (rel.split(path.sep).some((part) => part.startsWith("."))) return null;
    return rel === "" ? index : file;
  };

  const isFile = async (file: string): Promise<boolean> => {
    try {
      return (await stat(file)).isFile();
    } catch {
      return false;
    }
  };

  return {
    root: dir,
    async serve(req, res, pathname) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      let file = resolve(pathname);
      if (file === null) return false;
      if (!(await isFile(file))) {
        const wantsHtml = (req.headers.accept ?? "").includes("text/html");
        if (path.extname(file) !== "" || !wantsHtml) return false;
        file = index;
      }
      const body = await readFile(file);
      const hashed = path.relative(dir, file).startsWith(`assets${path.sep}`);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
        "content-length": body.length,
        // Vite names assets by their content's hash: they never change; index.html always may.
        "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
      });
      res.end(req.method === "HEAD" ? undefined : body);
      return true;
    },
  };
}
