/**
 * Checks real answers of the API against its published OpenAPI document with a JSON Schema
 * validator of its own (ajv, draft 2020-12, the dialect of OpenAPI 3.1): the route and method the
 * request named, the status's documented response, its media type, and the body against the
 * schema. Records what it checked, so a test can require every route to have been answered.
 */
import { Ajv2020 } from "ajv/dist/2020.js";

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { responses: Record<string, unknown> };
}

/** `value` unless it is a `$ref` into the document, which is resolved. */
function resolve(doc: unknown, value: unknown): unknown {
  const ref = (value as { $ref?: unknown } | null)?.$ref;
  if (typeof ref !== "string") return value;
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], doc);
}

export class AnswerChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  /** "METHOD /path/template STATUS" of every answer checked. */
  readonly checked = new Set<string>();

  constructor(private readonly doc: Doc) {
    // Formats are annotations in 2020-12; date-time is checked by its test where it matters.
    this.ajv.addFormat("date-time", true);
    this.ajv.addSchema(doc as object, "openapi.json");
  }

  /** The template of the documented path a request path names, or null. */
  template(pathname: string): string | null {
    const segments = pathname.split("/");
    for (const p of Object.keys(this.doc.paths)) {
      const t = p.split("/");
      if (t.length === segments.length && t.every((s, i) => s.startsWith("{") || s === segments[i]))
        return p;
    }
    return null;
  }

  /**
   * Throws unless the answer is the one documented: for a known path and method, the status's
   * response, its media type, and the body its schema accepts. Answers of no documented path
   * (a 404 for an unknown route) are checked against the problem schema.
   */
  check(
    method: string,
    target: string,
    answer: { status: number; contentType: string | null; body: unknown },
  ): void {
    const pathname = new URL(target, "http://x").pathname;
    const template = this.template(pathname);
    const op = template === null ? undefined : this.doc.paths[template]?.[method.toLowerCase()];
    const where = `${method} ${target.slice(0, 120)} ${answer.status}`;
    let response: unknown;
    let pointer: string;
    if (op === undefined) {
      if (answer.status < 400) throw new Error(`${where}: an undocumented route answered`);
      response = resolve(this.doc, { $ref: "#/components/responses/NotFound" });
      pointer = "#/components/responses/NotFound";
    } else {
      const documented = op.responses[String(answer.status)];
      if (documented === undefined) throw new Error(`${where}: the status is not documented`);
      response = resolve(this.doc, documented);
      const ref = (documented as { $ref?: string }).$ref;
      pointer =
        ref ??
        `#/paths/${template?.replace(/~/g, "~0").replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${answer.status}`;
    }
    const content = (response as { content?: Record<string, unknown> }).content ?? {};
    const media = (answer.contentType ?? "").split(";")[0]?.trim() ?? "";
    if (!(media in content))
      throw new Error(`${where}: answered ${media}, documented ${Object.keys(content).join(", ")}`);
    const escaped = media.replace(/~/g, "~0").replace(/\//g, "~1");
    const validate = this.ajv.getSchema(`openapi.json${pointer}/content/${escaped}/schema`);
    if (validate === undefined) throw new Error(`${where}: no schema at ${pointer}`);
    if (!validate(answer.body)) {
      throw new Error(
        `${where}: the body does not match its schema: ${this.ajv.errorsText(validate.errors)}`,
      );
    }
    this.checked.add(`${method.toUpperCase()} ${template ?? "?"} ${answer.status}`);
  }
}
