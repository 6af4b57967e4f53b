/**
 * `GET /activity`: every institution's activity per UTC day, as requester (requests sent) and as
 * provider (grants, denials, deliveries and revocations), with the cases of each cell: what the
 * dashboard's heat map (institution × day) draws and drills down from.
 */
import { listInstitutions } from "../../ledger/lists.js";
import { badRequest } from "../http.js";
import type { Route } from "../route.js";

/** Cases listed per cell at most (the count is always whole). */
export const MAX_CELL_CASES = 100;

export interface ActivityCell {
  institution: number;
  role: "requester" | "provider";
  /** UTC day, YYYY-MM-DD. */
  day: string;
  events: number;
  /** Case ids (decimal strings), ascending, at most {@link MAX_CELL_CASES}. */
  cases: string[];
}

export interface Activity {
  /** Every day with activity, ascending. */
  days: string[];
  institutions: { id: number; kind: string; status: string }[];
  cells: ActivityCell[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const dayOf = (unixDay: number): string =>
  new Date(unixDay * 86_400_000).toISOString().slice(0, 10);

const unixDay = (day: string, name: string): number => {
  const t = Date.parse(`${day}T00:00:00Z`);
  if (!DAY.test(day) || Number.isNaN(t)) throw badRequest(`${name}: a day, YYYY-MM-DD`);
  return t / 86_400_000;
};

export const activityRoute: Route = {
  path: "/activity",
  methods: ["GET"],
  public: false,
  query: ["from", "to"],
  async handle(ctx): Promise<Activity> {
    const fromText = ctx.query.get("from");
    const toText = ctx.query.get("to");
    const from = fromText === null ? 0 : unixDay(fromText, "from");
    const to = toText === null ? 2 ** 31 : unixDay(toText, "to");
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
};
