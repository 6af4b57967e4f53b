/** The analyst dashboard: sign-in, then cases, institutions, anomalies and fund flows. */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, session, setUnauthorizedHandler, type Health } from "./api.js";
import { AnomaliesPage } from "./pages/anomalies.js";
import { CasePage, CasesPage } from "./pages/cases.js";
import { InstitutionPage, InstitutionsPage } from "./pages/institutions.js";
import { TracePage } from "./pages/trace.js";
import { href, useLocation } from "./router.js";
import "./style.css";

function SignIn({ onSignedIn, reason }: { onSignedIn: () => void; reason: string | null }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // A listing needs a valid token: checked before it is kept.
      await api("/cases?limit=1", { token: token.trim() });
      session.signIn(token.trim());
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "This token is not one of the server's."
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Veritrace</h1>
      <p>Sign in with one of the tracing service's API tokens. It is kept for this tab only.</p>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          minLength={16}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error !== null && (
          <p class="state error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const NAV = [
  ["cases", "Cases"],
  ["institutions", "Institutions"],
  ["anomalies", "Anomalies"],
  ["trace", "Fund flows"],
] as const;

function HealthLine() {
  const [health, setHealth] = useState<Health | ApiError | null>(null);
  useEffect(() => {
    api<Health>("/health").then(setHealth, (e: unknown) =>
      setHealth(e instanceof ApiError ? e : new ApiError("error", String(e))),
    );
  }, []);
  if (health === null) return <span class="health">checking the tracer…</span>;
  if (health instanceof ApiError) return <span class="health bad">tracer unreachable</span>;
  return (
    <span class="health">
      {health.indexedTo === null
        ? `nothing indexed yet (${health.engine})`
        : `${health.events} events, indexed to block ${health.indexedTo.blockNumber} (${health.engine})`}
    </span>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(session.token() !== null);
  const [reason, setReason] = useState<string | null>(null);
  const location = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      session.signOut();
      setReason("The server no longer accepts this token: sign in again.");
      setSignedIn(false);
    });
  }, []);
  const [section = "cases", id] = location.parts;
  // A new page takes the focus to its content, as a page load would put it at the top: a
  // keyboard user's next Tab is the page's first control, and a screen reader reads it.
  const pageKey = `${section}/${id ?? ""}`;
  const shown = useRef(pageKey);
  useEffect(() => {
    if (shown.current === pageKey) return;
    shown.current = pageKey;
    document.getElementById("main")?.focus({ preventScroll: location.query.has("tx") });
  }, [pageKey]);
  if (!signedIn) return <SignIn reason={reason} onSignedIn={() => setSignedIn(true)} />;
  let page;
  if (section === "cases" && id !== undefined)
    page = <CasePage caseId={id} highlight={location.query.get("tx")} />;
  else if (section === "institutions" && id !== undefined) page = <InstitutionPage id={id} />;
  else if (section === "institutions") page = <InstitutionsPage />;
  else if (section === "anomalies") page = <AnomaliesPage open={location.query.get("open")} />;
  else if (section === "trace") page = <TracePage />;
  else page = <CasesPage />;
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">Veritrace</span>
        <nav aria-label="Sections">
          {NAV.map(([key, label]) => (
            <a href={href(key)} aria-current={section === key ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <HealthLine />
        <button
          type="button"
          class="link"
          onClick={() => {
            session.signOut();
            setReason(null);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
