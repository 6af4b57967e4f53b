/** Institution names ("4 POLICE"), loaded once per page view. */
import { all, type Institution } from "./api.js";

let cached: Promise<Map<number, Institution>> | null = null;

export function institutionMap(): Promise<Map<number, Institution>> {
  cached ??= all<Institution>("/institutions").then(
    (list) => new Map(list.map((i) => [i.id, i])),
    (e: unknown) => {
      cached = null;
      throw e;
    },
  );
  return cached;
}

export const institutionName = (
  map: ReadonlyMap<number, Institution>,
  id: number | null,
): string => {
  if (id === null) return "—";
  const kind = map.get(id)?.kind;
  return kind === undefined ? `institution ${id}` : `${id} ${kind}`;
};
