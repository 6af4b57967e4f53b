/**
 * `GET /activity`: every institution's activity per UTC day, as requester (requests sent) and as
 * provider (grants, denials, deliveries and revocations), with the cases of each cell: what the
 * dashboard's heat map (institution × day) draws and drills down from.
 */
import { listInstitutions } from "../../ledger/lists.js";
import { badRequest } from "../http.js";
import { route } from "../route.js";
import { Activity, MAX_CELL_CASES, activityQuery, type ActivityCell } from "../wire.js";

const dayOf = (unixDay: number): string =>
  new Date(unixDay * 86_400_000).toISOString().slice(0, 10);

const unixDay = (day: string, name: string): number => {
  const t = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(t)) throw badRequest(`${name}: a day, YYYY-MM-DD`);
  return t / 86_400_000;
};

export const activityRoute = route({ path: "/activity", public: false }).get({
  operationId: "getActivity",
  summary: "Every institution's activity per UTC day, as requester and as provider",
  description:
    "Requester: requests sent. Provider: grants, denials, deliveries and revocations. Each " +
    `cell lists its cases (at most ${MAX_CELL_CASES}).`,
  tags: ["institutions"],
  query: activityQuery,
  response: Activity,
  responseDescription: "The activity.",
  errors: [400],
  async handle(ctx) {
    const { from: fromText, to: toText } = ctx.query;
    const from = fromText === undefined ? 0 : unixDay(fromText, "from");
    const to = toText === undefined ? 2 ** 31 : unixDay(toText, "to");
    if (to < from) throw badRequest("to: a day not before from");
    const rows = await ctx.store.db.query<{
      institution: string | number;
      role: "requester" | "provider";
      day: string | number;
      events: string | number;
      cases: string | null;
    }>(
      `WITH acts AS (
         SELECT actor AS institution,
                CASE WHEN event = 'AccessRequested' THEN 'requester' ELSE 'provider' END AS role,
                floor(block_time / 86400) AS day, case_id
           FROM events
          WHERE actor IS NOT NULL
            AND event IN ('AccessRequested', 'AccessGranted', 'AccessDenied', 'DeliveryAttested', 'GrantRevoked')
       )
       SELECT institution, role, day::bigint AS day, count(*)::text AS events,
              string_agg(DISTINCT case_id::text, ',') AS cases
         FROM acts WHERE day >= $1 AND day <= $2
        GROUP BY institution, role, day
        ORDER BY institution, role, day`,
      [from, to],
    );
    const cells = rows.map((r): ActivityCell => {
      const cases = (r.cases ?? "")
        .split(",")
        .filter((c) => c !== "")
        .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))
        .slice(0, MAX_CELL_CASES);
      return {
        institution: Number(r.institution),
        role: r.role,
        day: dayOf(Number(r.day)),
        events: Number(r.events),
        cases,
      };
    });
    return {
      days: [...new Set(cells.map((c) => c.day))].sort(),
      institutions: (await listInstitutions(ctx.store.db)).map((i) => ({
        id: i.id,
        kind: i.kind,
        status: i.status,
      })),
      cells,
    };
  },
});
