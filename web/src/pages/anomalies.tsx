/** Anomalies: each finding with its rule, evidence, and links to the case and its transactions. */
import { all, type Anomaly } from "../api.js";
import { formatTime, short } from "../format.js";
import { href } from "../router.js";
import { Empty, Show, useLoad } from "../ui.js";

export function AnomaliesPage({ open }: { open: string | null }) {
  const data = useLoad(() => all<Anomaly>("/anomalies"), "anomalies");
  return (
    <section aria-labelledby="anomalies-title">
      <h1 id="anomalies-title">Anomalies</h1>
      <Show data={data} what="the anomalies">
        {(anomalies) =>
          anomalies.length === 0 ? (
            <Empty>
              <p>No anomalies: no rule found a pattern in the indexed events.</p>
            </Empty>
          ) : (
            <ol class="anomalies" aria-label="Anomalies">
              {anomalies.map((a, i) => (
                <li key={i} class={`anomaly severity-${a.severity}`} data-rule={a.rule}>
                  <details open={open === String(i)}>
                    <summary>
                      <span class={`badge severity-${a.severity}`}>{a.severity}</span>{" "}
                      <strong>{a.rule}</strong>: {a.summary}
                    </summary>
                    <dl class="facts">
                      <dt>Case</dt>
                      <dd>
                        {a.caseId === undefined ? (
                          "—"
                        ) : (
                          <a href={href("cases", a.caseId)}>Case {a.caseId}</a>
                        )}
                      </dd>
                      <dt>Institutions</dt>
                      <dd>
                        {a.participants.map((p) => (
                          <a key={p} href={href("institutions", p)}>
                            {p}{" "}
                          </a>
                        ))}
                      </dd>
                      <dt>Blocks</dt>
                      <dd>
                        {a.firstBlock}–{a.lastBlock}
                      </dd>
                      <dt>Measured</dt>
                      <dd>
                        {Object.entries(a.details)
                          .map(([k, v]) => `${k} ${v}`)
                          .join(", ")}
                      </dd>
                    </dl>
                    <table class="data" aria-label="Evidence">
                      <thead>
                        <tr>
                          <th scope="col">Time</th>
                          <th scope="col">Event</th>
                          <th scope="col">Block</th>
                          <th scope="col">Transaction</th>
                        </tr>
                      </thead>
                      <tbody>
                        {a.evidence.map((e) => (
                          <tr key={`${e.blockNumber}-${e.logIndex}`}>
                            <td>{formatTime(e.blockTime)}</td>
                            <td>{e.event}</td>
                            <td>{e.blockNumber}</td>
                            <td>
                              {e.caseId === undefined ? (
                                <code>{short(e.txHash)}</code>
                              ) : (
                                <a
                                  class="tx"
                                  href={`${href("cases", e.caseId)}?tx=${e.txHash}`}
                                  title={`${e.txHash} in case ${e.caseId}`}
                                >
                                  <code>{short(e.txHash)}</code>
                                </a>
                              )}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </details>
                </li>
              ))}
            </ol>
          )
        }
      </Show>
    </section>
  );
}
