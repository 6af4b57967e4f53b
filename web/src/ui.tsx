/** Shared pieces of every page: loading, error and empty states, and a data-loading hook. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api.js";

export type Loaded<T> =
  { state: "loading" } | { state: "error"; error: ApiError } | { state: "done"; value: T };

const asApiError = (e: unknown): ApiError =>
  e instanceof ApiError ? e : new ApiError("error", (e as Error).message ?? String(e));

/** Runs `load` when `key` changes; the answer of a previous key is dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    let live = true;
    setResult({ state: "loading" });
    load().then(
      (value) => live && setResult({ state: "done", value }),
      (e: unknown) => live && setResult({ state: "error", error: asApiError(e) }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return result;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorState({ error, what }: { error: ApiError; what: string }) {
  const title =
    error.code === "unreachable"
      ? "The tracer is unreachable"
      : error.status === 404
        ? `No such ${what}`
        : `Could not load ${what}`;
  return (
    <div class="state error" role="alert">
      <strong>{title}</strong>
      <p>{error.message}</p>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}

/** A page's body from its loaded data: loading and error states come first. */
export function Show<T>({
  data,
  what,
  children,
}: {
  data: Loaded<T>;
  what: string;
  children: (value: T) => ComponentChildren;
}) {
  if (data.state === "loading") return <Loading what={what} />;
  if (data.state === "error") return <ErrorState error={data.error} what={what} />;
  return <>{children(data.value)}</>;
}

/** Saves a blob as a download. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Once the frame showing what was just rendered is painted: sets `data-ready="true"` on `element`
 * and leaves a performance mark named `mark` (tests and `npm run bench:web` wait for and read
 * them). The second animation frame runs after the first one's paint. Returns the cancel.
 */
export function afterPaint(element: Element | null, mark: string): () => void {
  element?.setAttribute("data-ready", "false");
  let frame = requestAnimationFrame(() => {
    frame = requestAnimationFrame(() => {
      element?.setAttribute("data-ready", "true");
      performance.mark(mark);
    });
  });
  return () => cancelAnimationFrame(frame);
}
