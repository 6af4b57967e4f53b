/**
 * The problem format both servers write and their clients (the dashboard, `match run`) read: what
 * a server answers reads back whole, and anything that is no problem reads as none.
 */
import { expect } from "chai";
import { parseProblem } from "../../src/shared/problem-format.js";
import { problem } from "../../src/shared/problem.js";

describe("parseProblem", function () {
  it("reads back what a server answers, as sent over the wire", function () {
    for (const sent of [
      problem(404, "not_found", "unknown case 7"),
      problem(403, "session-mismatch", "the session is another one"),
    ])
      expect(parseProblem(JSON.parse(JSON.stringify(sent)))).to.deep.equal(sent);
  });

  it("keeps the five members only", function () {
    const sent = { ...problem(400, "bad_request", "limit: must be an integer"), instance: "/x" };
    expect(parseProblem(sent)).to.not.have.property("instance");
  });

  it("reads anything else as no problem: no object, a member missing or of another type", function () {
    const whole = problem(500, "internal", "boom");
    const bodies: unknown[] = [
      null,
      "internal",
      [whole],
      { ...whole, code: undefined },
      { ...whole, title: undefined },
      { ...whole, status: "500" },
      { ...whole, detail: 7 },
    ];
    for (const body of bodies) expect(parseProblem(body), JSON.stringify(body)).to.equal(null);
  });
});
