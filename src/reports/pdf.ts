/**
 * The PDF side of the reports: fonts embedded (so that Chinese renders on a machine that has
 * none), output the same for the same content, and a file written whole or not at all.
 *
 * Determinism: PDFKit writes the creation time into the document's information and derives the
 * file identifier (/ID) from it; everything else follows from the content (the font subsets'
 * tags are numbered in order of use). The creation time is an input: SOURCE_DATE_EPOCH (the
 * reproducible-builds convention) when set, else now.
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import PDFDocument from "pdfkit";
import { InvalidInputError, UsageError } from "../shared/errors.js";
import type { Lang } from "./i18n.js";

const require = createRequire(import.meta.url);

/** A file of the DejaVu fonts (Latin, Greek, Cyrillic; the mono one for hashes and keys). */
const dejavu = (file: string): string => require.resolve(`dejavu-fonts-ttf/ttf/${file}`);

/**
 * A file of Noto Sans Hans (Simplified Chinese, SIL Open Font License), in the fonts/ folder of
 * @embedpdf/fonts-sc, whose exports name its module alone: found beside the module's dist/.
 */
const noto = (file: string): string =>
  path.join(path.dirname(require.resolve("@embedpdf/fonts-sc")), "..", "fonts", file);

/** The fonts of a report in each language: body, bold, and mono (always DejaVu Sans Mono). */
const FONTS: Record<Lang, { body: string; bold: string }> = {
  en: { body: dejavu("DejaVuSans.ttf"), bold: dejavu("DejaVuSans-Bold.ttf") },
  zh: { body: noto("NotoSansHans-Regular.otf"), bold: noto("NotoSansHans-Bold.otf") },
};

/** A document in the making, with its fonts registered as "body", "bold" and "mono". */
export type Doc = PDFKit.PDFDocument;

/** The creation time of a report: SOURCE_DATE_EPOCH (seconds since 1970) when set, else now. */
export function creationTime(env: NodeJS.ProcessEnv = process.env): Date {
  const v = env["SOURCE_DATE_EPOCH"];
  if (v === undefined || v === "") return new Date();
  if (!/^\d{1,12}$/.test(v))
    throw new UsageError(`SOURCE_DATE_EPOCH must be seconds since 1970, got ${JSON.stringify(v)}`);
  return new Date(Number(v) * 1000);
}

/**
 * Renders a PDF: `draw` writes the pages of a document in `lang`, made at `createdAt`; the bytes
 * of the finished file are returned.
 */
export async function renderPdf(spec: {
  lang: Lang;
  title: string;
  createdAt: Date;
  draw: (doc: Doc) => void;
}): Promise<Buffer> {
  const fonts = FONTS[spec.lang];
  const doc = new PDFDocument({
    size: "A4",
    margins: { top: 56, bottom: 56, left: 50, right: 50 },
    bufferPages: true,
    // No standard (unembedded) font is ever referenced: the default font is an embedded one.
    font: fonts.body,
    lang: spec.lang === "zh" ? "zh-CN" : "en",
    displayTitle: true,
    info: {
      Title: spec.title,
      Creator: "Veritrace",
      Producer: "Veritrace (PDFKit)",
      CreationDate: spec.createdAt,
    },
  });
  doc.registerFont("body", fonts.body);
  doc.registerFont("bold", fonts.bold);
  doc.registerFont("mono", dejavu("DejaVuSansMono.ttf"));
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  spec.draw(doc);
  doc.end();
  return done;
}

/**
 * Writes `bytes` to `dir`/`name` whole or not at all: into a temporary file of the same
 * directory, renamed over the name at the end (a reader never sees half a report).
 */
export function writeWhole(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, bytes, { flag: "wx" });
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new InvalidInputError(`cannot write ${file}: ${(error as Error).message}`);
  }
  return file;
}
