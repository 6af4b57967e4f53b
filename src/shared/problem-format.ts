/**
 * RFC 9457 problem details as both servers answer them (src/shared/problem.ts writes them) and
 * their clients read them: the format alone, with no Node import, so that the dashboard's bundle
 * (web/src/api.ts) reads an error answer with the same code as `veritrace match run`'s client
 * (src/matching/http.ts).
 */

export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/**
 * An RFC 9457 problem: `type` names it (`/problems/` and its code), `title` is the same for every
 * occurrence of it, `detail` says this one in a sentence, `code` is what programs test.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** The problem an error answer's parsed body is, or null when it is none. */
export function parseProblem(body: unknown): Problem | null {
  if (typeof body !== "object" || body === null) return null;
  const { type, title, status, detail, code } = body as Record<string, unknown>;
  return typeof type === "string" &&
    typeof title === "string" &&
    typeof status === "number" &&
    typeof detail === "string" &&
    typeof code === "string"
    ? { type, title, status, detail, code }
    : null;
}
