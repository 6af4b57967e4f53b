/**
 * Hash routes (`#/cases/7`): the page is always `/`, so no client route can shadow an API path
 * of the same name (`/cases/7` is the API's).
 */
import { useEffect, useState } from "preact/hooks";

export interface Location {
  /** Path segments, e.g. ["cases", "7"]. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Location {
  const raw = hash.replace(/^#/, "");
  const [pathPart = "", queryPart = ""] = raw.split("?", 2);
  return {
    parts: pathPart
      .split("/")
      .filter((p) => p !== "")
      .map((p) => decodeURIComponent(p)),
    query: new URLSearchParams(queryPart),
  };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setLocation(parseHash(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return location;
}

/** The href of a route. */
export const href = (...parts: (string | number)[]): string =>
  `#/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;
