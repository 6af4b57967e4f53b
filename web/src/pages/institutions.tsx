/** Institutions: activity per institution and UTC day as a heat map, drill-down to the cases. */
import { useState } from "preact/hooks";
import {
  api,
  type Activity,
  type ActivityCell,
  type Institution,
  type InstitutionCase,
} from "../api.js";
import { href } from "../router.js";
import { Empty, Show, useLoad } from "../ui.js";

/** A cell's fill: white to dark blue, by the share of the busiest cell (text stays readable). */
const heat = (n: number, max: number): { background: string; color: string } => {
  if (n === 0) return { background: "#ffffff", color: "#555" };
  const t = Math.sqrt(n / max);
  const light = Math.round(95 - t * 62);
  return { background: `hsl(214 80% ${light}%)`, color: light < 60 ? "#fff" : "#111" };
};

/** The counts the legend shows a swatch of: none, then a quarter of the scale each up to `max`. */
const legendSteps = (max: number): number[] => [
  0,
  ...new Set([0.25, 0.5, 0.75, 1].map((t) => Math.max(1, Math.round(max * t * t)))),
];

const DAY_MS = 86_400_000;

/**
 * Every UTC day from the first to the last of `days` (YYYY-MM-DD, ascending), both included: a
 * quiet day between two active ones keeps its column, so that columns are evenly spaced in time.
 */
function dayAxis(days: readonly string[]): string[] {
  const first = days[0];
  const last = days.at(-1);
  if (first === undefined || last === undefined) return [];
  const axis: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += DAY_MS)
    axis.push(new Date(t).toISOString().slice(0, 10));
  return axis;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

export function InstitutionsPage() {
  const data = useLoad(() => api<Activity>("/activity"), "activity");
  const [selected, setSelected] = useState<ActivityCell | null>(null);
  return (
    <section aria-labelledby="inst-title">
      <h1 id="inst-title">Institutions</h1>
      <Show data={data} what="the institutions' activity">
        {(activity) => {
          if (activity.institutions.length === 0)
            return (
              <Empty>
                <p>No institutions on the chain yet.</p>
              </Empty>
            );
          const cells = new Map(
            activity.cells.map((c) => [`${c.institution}/${c.role}/${c.day}`, c]),
          );
          const max = Math.max(1, ...activity.cells.map((c) => c.events));
          const days = dayAxis(activity.days);
          const active = new Set(activity.days);
          return (
            <>
              <p>
                Requests sent (as requester) and grants, denials, deliveries and revocations (as
                provider), per UTC day, from the first day with activity to the last. Select a cell
                for its cases.
              </p>
              {days.length === 0 ? (
                <Empty>No access requests yet.</Empty>
              ) : (
                <>
                  <div class="heat-legend" role="group" aria-labelledby="heat-legend-title">
                    <span id="heat-legend-title">
                      Colour scale: events per institution, role and UTC day
                    </span>
                    <ul>
                      {legendSteps(max).map((n) => (
                        <li key={n} data-events={n}>
                          <span class="swatch" style={heat(n, max)} aria-hidden="true" />
                          {n === 0 ? "none" : n === max ? `${n} (busiest)` : n}
                        </li>
                      ))}
                    </ul>
                  </div>
                  <div class="heat-wrap">
                    <table class="heat" aria-label="Activity per institution and day">
                      <thead>
                        <tr>
                          <th scope="col">Institution</th>
                          <th scope="col">Role</th>
                          {days.map((d) => (
                            <th
                              scope="col"
                              key={d}
                              data-day={d}
                              class={active.has(d) ? undefined : "quiet"}
                            >
                              <time dateTime={d}>{d}</time>
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {activity.institutions.flatMap((inst) =>
                          (["requester", "provider"] as const).map((role) => (
                            <tr key={`${inst.id}-${role}`}>
                              {role === "requester" && (
                                <th scope="rowgroup" rowSpan={2}>
                                  <a href={href("institutions", inst.id)}>
                                    {inst.id} {inst.kind}
                                  </a>
                                </th>
                              )}
                              <th scope="row">{role}</th>
                              {days.map((day) => {
                                const c = cells.get(`${inst.id}/${role}/${day}`);
                                const n = c?.events ?? 0;
                                const name = `${inst.kind} ${inst.id} as ${role} on ${day}: ${plural(n, "event")}`;
                                return (
                                  <td key={day} style={heat(n, max)} data-day={day}>
                                    {c === undefined ? (
                                      <>
                                        <span aria-hidden="true">·</span>
                                        <span class="sr-only">{name}</span>
                                      </>
                                    ) : (
                                      <button
                                        type="button"
                                        class="cell"
                                        style={heat(n, max)}
                                        aria-pressed={selected === c}
                                        aria-label={`${name} in ${plural(c.cases.length, "case")}`}
                                        onClick={() => setSelected(c)}
                                      >
                                        {n}
                                      </button>
                                    )}
                                  </td>
                                );
                              })}
                            </tr>
                          )),
                        )}
                      </tbody>
                    </table>
                  </div>
                </>
              )}
              {selected !== null && (
                <div class="drill" role="region" aria-label="Cases of the selected cell">
                  <h2>
                    Institution {selected.institution} as {selected.role} on {selected.day}
                  </h2>
                  <ul>
                    {selected.cases.map((id) => (
                      <li key={id}>
                        <a href={href("cases", id)}>Case {id}</a>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

export function InstitutionPage({ id }: { id: string }) {
  const data = useLoad(async () => {
    const first = await api<{
      institution: Institution;
      cases: { items: InstitutionCase[]; nextCursor: string | null };
    }>(`/institutions/${encodeURIComponent(id)}?limit=500`);
    const cases = [...first.cases.items];
    let cursor = first.cases.nextCursor;
    while (cursor !== null) {
      const next = await api<{ cases: { items: InstitutionCase[]; nextCursor: string | null } }>(
        `/institutions/${encodeURIComponent(id)}?limit=500&cursor=${encodeURIComponent(cursor)}`,
      );
      cases.push(...next.cases.items);
      cursor = next.cases.nextCursor;
    }
    return { institution: first.institution, cases };
  }, `institution ${id}`);
  return (
    <section aria-labelledby="one-inst-title">
      <p>
        <a href={href("institutions")}>← All institutions</a>
      </p>
      <h1 id="one-inst-title">Institution {id}</h1>
      <Show data={data} what={`institution ${id}`}>
        {({ institution, cases }) => (
          <>
            <p>
              {institution.kind}, {institution.status}; keys:{" "}
              {institution.keys.map((k) => (
                <code key={k.address}>{k.address} </code>
              ))}
            </p>
            {cases.length === 0 ? (
              <Empty>No activity in any case.</Empty>
            ) : (
              <table class="data" aria-label="Activity per case">
                <thead>
                  <tr>
                    <th scope="col">Case</th>
                    <th scope="col">Role</th>
                    <th scope="col" class="num">
                      Requests
                    </th>
                    <th scope="col" class="num">
                      Granted
                    </th>
                    <th scope="col" class="num">
                      Denied
                    </th>
                    <th scope="col" class="num">
                      Revoked
                    </th>
                    <th scope="col" class="num">
                      Deliveries
                    </th>
                    <th scope="col" class="num">
                      Records
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {cases.map((c) => (
                    <tr key={`${c.caseId}-${c.role}`}>
                      <td>
                        <a href={href("cases", c.caseId)}>Case {c.caseId}</a>
                      </td>
                      <td>{c.role}</td>
                      <td class="num">{c.requests}</td>
                      <td class="num">{c.granted}</td>
                      <td class="num">{c.denied}</td>
                      <td class="num">{c.revoked}</td>
                      <td class="num">{c.deliveries}</td>
                      <td class="num">{c.records}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Show>
    </section>
  );
}
