/** The anomaly rule anchor-gap: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * anchor-gap. Each participant anchors its own access log in batches; batch n+1 must start where
 * batch n ended: firstSequence(n+1) = firstSequence(n) + entryCount(n). A larger start leaves
 * entries never anchored (a gap), a smaller one anchors entries twice (an overlap: two roots for
 * the same entries). Anchors without firstSequence (the contract before it had one) are skipped.
 */
export const rule = c.defineRule<{
  participant: string | number;
  anchor_id: string;
  previous_anchor_id: string;
  first_sequence: string;
  entry_count: string;
  expected: string;
}>({
  rule: "anchor-gap",
  title: "a gap or an overlap in a participant's anchored access-log sequence",
  thresholds: ["anchorMaxGap"],
  sql: `WITH anchors AS (
       SELECT actor, anchor_id, block_number, log_index,
              (args->>'firstSequence')::numeric AS first_sequence,
              (args->>'entryCount')::numeric AS entry_count,
              lag(anchor_id) OVER w AS previous_anchor_id,
              lag(block_number) OVER w AS previous_block,
              lag(log_index) OVER w AS previous_log,
              lag((args->>'firstSequence')::numeric + (args->>'entryCount')::numeric) OVER w AS expected
         FROM events
        WHERE event = 'LogAnchored' AND actor IS NOT NULL AND args->>'firstSequence' IS NOT NULL
       WINDOW w AS (PARTITION BY actor ORDER BY block_number, log_index)
     )
     SELECT a.actor AS participant, a.anchor_id::text AS anchor_id,
            a.previous_anchor_id::text AS previous_anchor_id,
            a.first_sequence::text AS first_sequence, a.entry_count::text AS entry_count,
            a.expected::text AS expected,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE (e.block_number = a.previous_block AND e.log_index = a.previous_log)
                 OR (e.block_number = a.block_number AND e.log_index = a.log_index)) AS evidence
       FROM anchors a
      WHERE a.expected IS NOT NULL AND abs(a.first_sequence - a.expected) > $1::numeric`,
  params: (t) => [t.anchorMaxGap],
  finding: (r) => {
    const participant = Number(r.participant);
    const first = BigInt(r.first_sequence);
    const expected = BigInt(r.expected);
    const gap = first > expected;
    const lastRepeated = [expected, first + BigInt(r.entry_count)].reduce((a, b) =>
      a < b ? a : b,
    );
    return {
      severity: "high",
      participants: [participant],
      summary: gap
        ? `Participant ${participant}'s anchor ${r.anchor_id} starts its access log at entry` +
          ` ${first}, but its previous anchor ${r.previous_anchor_id} ended at entry` +
          ` ${expected - 1n}: entries ${c.range(expected, first - 1n)} were never anchored.`
        : `Participant ${participant}'s anchor ${r.anchor_id} starts its access log at entry` +
          ` ${first}, but its previous anchor ${r.previous_anchor_id} already covered entries up` +
          ` to ${expected - 1n}: entries ${c.range(first, lastRepeated - 1n)} are anchored twice.`,
      details: {
        kind: gap ? "gap" : "overlap",
        anchorId: r.anchor_id,
        previousAnchorId: r.previous_anchor_id,
        firstSequence: r.first_sequence,
        expectedSequence: r.expected,
        entries: (gap ? first - expected : expected - first).toString(),
      },
    };
  },
});
