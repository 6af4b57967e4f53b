/** Cases: the list, and a case's chain of custody as a timeline with each entry's verification. */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  all,
  api,
  ApiError,
  type CaseReport,
  type CaseSummary,
  type CustodyEntry,
  type DeliveryVerification,
  type EntryVerification,
  type ExchangeState,
  type Institution,
} from "../api.js";
import { formatTime, short } from "../format.js";
import { institutionMap, institutionName } from "../institutions-cache.js";
import { href } from "../router.js";
import { afterPaint, Empty, Show, useLoad } from "../ui.js";

export function CasesPage() {
  const data = useLoad(
    async () => ({
      cases: await all<CaseSummary>("/cases"),
      who: await institutionMap(),
    }),
    "cases",
  );
  return (
    <section aria-labelledby="cases-title">
      <h1 id="cases-title">Cases</h1>
      <Show data={data} what="the cases">
        {({ cases, who }) =>
          cases.length === 0 ? (
            <Empty>
              <p>No cases on the chain yet.</p>
              <p>
                Cases appear here once <code>veritrace index</code> has read the consortium's
                events.
              </p>
            </Empty>
          ) : (
            <table class="data" aria-label="Cases">
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Status</th>
                  <th scope="col">Opened by</th>
                  <th scope="col">Approved by</th>
                  <th scope="col">Opened</th>
                  <th scope="col">Expires</th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Grants
                  </th>
                  <th scope="col" class="num">
                    Denials
                  </th>
                  <th scope="col" class="num">
                    Deliveries
                  </th>
                </tr>
              </thead>
              <tbody>
                {cases.map((c) => (
                  <tr key={c.caseId}>
                    <td>
                      <a href={href("cases", c.caseId)}>Case {c.caseId}</a>
                    </td>
                    <td>
                      <span class={`badge status-${c.status}`}>{c.status}</span>
                    </td>
                    <td>{institutionName(who, c.opener)}</td>
                    <td>{institutionName(who, c.approver)}</td>
                    <td>{formatTime(c.openedAt)}</td>
                    <td>{formatTime(c.expiresAt)}</td>
                    <td class="num">{c.requests}</td>
                    <td class="num">{c.grants}</td>
                    <td class="num">{c.denials}</td>
                    <td class="num">{c.deliveries}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

/** Delivery checks, one request per delivery, four at a time. */
function useDeliveryChecks(ids: readonly string[]): Map<string, DeliveryVerification | ApiError> {
  const [checks, setChecks] = useState(new Map<string, DeliveryVerification | ApiError>());
  const key = ids.join(",");
  useEffect(() => {
    let live = true;
    const queue = [...ids];
    const found = new Map<string, DeliveryVerification | ApiError>();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const publish = () => {
      pending ??= setTimeout(() => {
        pending = null;
        if (live) setChecks(new Map(found));
      }, 50);
    };
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && live; id = queue.shift()) {
        try {
          found.set(id, await api<DeliveryVerification>(`/deliveries/${id}/verification`));
        } catch (e) {
          found.set(id, e instanceof ApiError ? e : new ApiError("error", String(e)));
        }
        publish();
      }
    };
    void Promise.all([worker(), worker(), worker(), worker()]);
    return () => {
      live = false;
    };
  }, [key]);
  return checks;
}

function AnchorCheck({ anchorId }: { anchorId: string }) {
  const [index, setIndex] = useState("0");
  const [entry, setEntry] = useState("");
  const [proof, setProof] = useState("");
  const [result, setResult] = useState<EntryVerification | string | null>(null);
  const id = `anchor-${anchorId}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setResult(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry);
    } catch {
      setResult("The entry is not valid JSON.");
      return;
    }
    try {
      setResult(
        await api<EntryVerification>(`/anchors/${anchorId}/entries/verify`, {
          method: "POST",
          body: {
            index: Number(index),
            entry: parsed,
            proof: proof
              .split(/[\s,]+/)
              .map((p) => p.trim())
              .filter((p) => p !== ""),
          },
        }),
      );
    } catch (err) {
      setResult((err as Error).message);
    }
  };
  return (
    <details class="anchor-check">
      <summary>Check an access-log entry's Merkle inclusion</summary>
      <form onSubmit={submit}>
        <label for={`${id}-index`}>Index in the batch</label>
        <input
          id={`${id}-index`}
          type="number"
          min={0}
          value={index}
          onInput={(e) => setIndex(e.currentTarget.value)}
        />
        <label for={`${id}-entry`}>Entry (JSON)</label>
        <textarea
          id={`${id}-entry`}
          rows={2}
          value={entry}
          onInput={(e) => setEntry(e.currentTarget.value)}
        />
        <label for={`${id}-proof`}>Proof (hashes, comma-separated)</label>
        <input id={`${id}-proof`} value={proof} onInput={(e) => setProof(e.currentTarget.value)} />
        <button type="submit">Verify inclusion</button>
      </form>
      {result !== null && (
        <p role="status" class={typeof result === "string" || !result.included ? "bad" : "good"}>
          {typeof result === "string"
            ? result
            : result.included
              ? `Included: entry ${short(result.entryHash)} is in the batch with root ${short(result.root)}.`
              : `Not included in the batch with root ${short(result.root)}.`}
        </p>
      )}
    </details>
  );
}

function Verification({
  entry,
  checks,
}: {
  entry: CustodyEntry;
  checks: Map<string, DeliveryVerification | ApiError>;
}) {
  if (entry.step === "delivery" || entry.step === "acknowledgement") {
    const id = String(entry.details["deliveryId"]);
    const check = checks.get(id);
    if (check === undefined) return <span class="verify pending">signature: checking…</span>;
    if (check instanceof ApiError)
      return <span class="verify bad">signature: not checked ({check.message})</span>;
    const side = entry.step === "delivery" ? check.provider : check.requester;
    return side.valid ? (
      <span class="verify good">
        EIP-712 signature re-checked: valid, signer is a key of institution {side.institution}
      </span>
    ) : (
      <span class="verify bad">
        EIP-712 signature re-checked: INVALID (recovered {short(side.recovered)})
      </span>
    );
  }
  if (entry.step === "anchor") {
    return (
      <span class="verify">
        Merkle root {short(String(entry.details["root"]))} of {String(entry.details["entryCount"])}{" "}
        entries
        <AnchorCheck anchorId={String(entry.details["anchorId"])} />
      </span>
    );
  }
  return <span class="verify good">sent by the institution's key (checked by the contract)</span>;
}

const STEP_LABEL: Record<string, string> = {
  opening: "Opening",
  approval: "Approval",
  "extension-request": "Extension request",
  extension: "Extension",
  request: "Request",
  withdrawal: "Withdrawal",
  grant: "Grant",
  denial: "Denial",
  delivery: "Delivery",
  acknowledgement: "Acknowledgement",
  revocation: "Revocation",
  anchor: "Anchor",
  "freeze-request": "Freeze request",
  "freeze-execution": "Freeze executed",
  "freeze-rejection": "Freeze rejected",
  "freeze-acknowledgement": "Freeze acknowledged",
  closure: "Closure",
};

function Timeline({
  custody,
  who,
  highlight,
}: {
  custody: CustodyEntry[];
  who: Map<number, Institution>;
  highlight: string | null;
}) {
  const deliveries = [
    ...new Set(
      custody.filter((e) => e.step === "delivery").map((e) => String(e.details["deliveryId"])),
    ),
  ];
  const checks = useDeliveryChecks(deliveries);
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => afterPaint(list.current, "veritrace:timeline-painted"), [custody]);
  useEffect(() => {
    if (highlight !== null)
      document
        .querySelector(`[data-tx="${highlight.toLowerCase()}"]`)
        ?.scrollIntoView({ block: "center" });
  }, [highlight]);
  return (
    <ol ref={list} class="timeline" aria-label="Chain of custody" data-ready="false">
      {custody.map((e, i) => {
        const counterpart =
          typeof e.details["provider"] === "number" ? (e.details["provider"] as number) : null;
        return (
          <li
            key={`${e.blockNumber}-${e.logIndex}-${e.step}`}
            class={`entry step-${e.step}${highlight !== null && highlight.toLowerCase() === e.txHash ? " highlight" : ""}`}
            data-step={e.step}
            data-tx={e.txHash}
          >
            <div class="when">
              <span class="index">{i + 1}</span>
              <time dateTime={new Date(e.time * 1000).toISOString()}>{formatTime(e.time)}</time>
              <span class="block">block {e.blockNumber}</span>
            </div>
            <div class="what">
              <span class="badge step">{STEP_LABEL[e.step] ?? e.step}</span> {e.action}
              {e.requestId !== null && <span class="muted"> · request {e.requestId}</span>}
            </div>
            <dl class="facts">
              <dt>Institution</dt>
              <dd>
                {e.institution === null ? (
                  "—"
                ) : (
                  <a href={href("institutions", e.institution)}>
                    {institutionName(who, e.institution)}
                  </a>
                )}
                {counterpart !== null && <> → {institutionName(who, counterpart)}</>}
              </dd>
              <dt>Signer</dt>
              <dd>
                <code title={e.signer ?? ""}>{short(e.signer)}</code>
              </dd>
              <dt>Transaction</dt>
              <dd>
                <code title={e.txHash}>{short(e.txHash)}</code>
              </dd>
              <dt>Verification</dt>
              <dd>
                <Verification entry={e} checks={checks} />
              </dd>
            </dl>
          </li>
        );
      })}
    </ol>
  );
}

/**
 * Each delivery's exchange states: offered and purged (the provider's ExchangeLedger records),
 * acknowledged (the co-signed delivery). Fetches are in the provider's access log, not here.
 */
function Exchanges({
  exchanges,
  who,
}: {
  exchanges: ExchangeState[];
  who: Map<number, Institution>;
}) {
  return (
    <table class="data" aria-label="Exchanges">
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col" class="num">
            Delivery
          </th>
          <th scope="col">Provider → requester</th>
          <th scope="col">State</th>
          <th scope="col">Offered</th>
          <th scope="col">Ciphertext</th>
          <th scope="col" class="num">
            Bytes
          </th>
          <th scope="col" class="num">
            Key
          </th>
          <th scope="col">Acknowledged</th>
          <th scope="col">Purged</th>
        </tr>
      </thead>
      <tbody>
        {exchanges.map((x) => (
          <tr key={`${x.requestId}:${x.sequence}`} data-state={x.state}>
            <td>{x.requestId}</td>
            <td class="num">{x.sequence}</td>
            <td>
              {institutionName(who, x.provider)} → {institutionName(who, x.requester)}
            </td>
            <td>
              <span class={`badge exchange-${x.state}`}>{x.state}</span>
            </td>
            <td>{x.offered === null ? "—" : formatTime(x.offered.time)}</td>
            <td>
              {x.offered === null ? (
                "—"
              ) : (
                <code title={x.offered.ciphertextHash}>{short(x.offered.ciphertextHash)}</code>
              )}
            </td>
            <td class="num">{x.offered?.ciphertextBytes ?? "—"}</td>
            <td class="num">{x.offered?.recipientKeyId ?? "—"}</td>
            <td>{x.acknowledged === null ? "—" : formatTime(x.acknowledged.time)}</td>
            <td>{x.purged === null ? "—" : `${formatTime(x.purged.time)} (${x.purged.reason})`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CasePage({ caseId, highlight }: { caseId: string; highlight: string | null }) {
  const data = useLoad(async () => {
    const custody: CustodyEntry[] = [];
    let report: CaseReport | null = null;
    let cursor: string | null = null;
    do {
      const page: CaseReport = await api<CaseReport>(
        `/cases/${encodeURIComponent(caseId)}?limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      report ??= page;
      custody.push(...page.custody.items);
      cursor = page.custody.nextCursor;
    } while (cursor !== null);
    return { report, custody, who: await institutionMap() };
  }, `case ${caseId}`);
  return (
    <section aria-labelledby="case-title">
      <p>
        <a href={href("cases")}>← All cases</a>
      </p>
      <h1 id="case-title">Case {caseId}</h1>
      <Show data={data} what={`case ${caseId}`}>
        {({ report, custody, who }) => (
          <>
            <dl class="summary">
              <dt>Status</dt>
              <dd>
                <span class={`badge status-${report.status}`}>{report.status}</span>
              </dd>
              <dt>Opened by</dt>
              <dd>{institutionName(who, report.opener)}</dd>
              <dt>Approved by</dt>
              <dd>{institutionName(who, report.approver)}</dd>
              <dt>Expires</dt>
              <dd>{formatTime(report.expiresAt)}</dd>
              <dt>Scope</dt>
              <dd>{report.scope.join(", ")}</dd>
              <dt>Case number commitment</dt>
              <dd>
                <code title={report.caseNumberCommitment}>
                  {short(report.caseNumberCommitment)}
                </code>
              </dd>
            </dl>
            {report.exchanges.length === 0 ? null : (
              <>
                <h2>Exchanges ({report.exchanges.length} deliveries)</h2>
                <Exchanges exchanges={report.exchanges} who={who} />
              </>
            )}
            <h2>Chain of custody ({custody.length} entries)</h2>
            {custody.length === 0 ? (
              <Empty>No custody entries.</Empty>
            ) : (
              <Timeline custody={custody} who={who} highlight={highlight} />
            )}
          </>
        )}
      </Show>
    </section>
  );
}
