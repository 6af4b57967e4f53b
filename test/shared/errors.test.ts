import { expect } from "chai";
import { InputError } from "../../src/client/errors.js";
import { httpErrorOf } from "../../src/api/http.js";
import { RpcError, RpcUnavailableError } from "../../src/chain/rpc.js";
import {
  ConflictError,
  CouldNotCheckError,
  EXIT_CODES,
  HTTP_STATUSES,
  InvalidInputError,
  NotFoundError,
  TracerError,
  UnavailableError,
  UsageError,
  VerificationFailedError,
  VeritraceError,
  type ErrorKind,
} from "../../src/shared/errors.js";
import { MatchError } from "../../src/matching/errors.js";

/** One error root, its kinds mapped once to exit codes and to HTTP statuses. */
describe("errors: one root, kinds mapped once", function () {
  const cases: [VeritraceError, ErrorKind, number, number][] = [
    [new InvalidInputError("not a case id"), "invalid-input", 1, 400],
    [new InputError("phone", "not a phone number"), "invalid-input", 1, 400],
    [new NotFoundError("unknown case 9"), "not-found", 1, 404],
    [new ConflictError("the commitment names cases 1, 2"), "conflict", 1, 409],
    [new UnavailableError("the database does not answer"), "unavailable", 1, 503],
    [new RpcUnavailableError("the node does not answer"), "unavailable", 1, 503],
    [new RpcError("eth_call", -32000, "execution reverted"), "unavailable", 1, 503],
    [new MatchError("malformed-message", "truncated"), "invalid-input", 1, 400],
    [new MatchError("digest-mismatch", "the body changed"), "verification-failed", 1, 422],
    [new MatchError("peer-error", "the provider does not answer"), "unavailable", 1, 503],
    [new MatchError("internal", "a worker died"), "failed", 1, 500],
    [new UsageError("--db is required"), "usage", 2, 400],
    [new VerificationFailedError("the log changed"), "verification-failed", 1, 422],
    [new CouldNotCheckError("could not check: no store"), "could-not-check", 3, 503],
    [new TracerError("something broke"), "failed", 1, 500],
  ];
  for (const [error, kind, exit, status] of cases) {
    it(`${error.name}: ${kind}, exit ${exit}, HTTP ${status}`, function () {
      expect(error).to.be.instanceOf(VeritraceError);
      expect(error.kind).to.equal(kind);
      expect(EXIT_CODES[error.kind]).to.equal(exit);
      expect(httpErrorOf(error).status).to.equal(status);
    });
  }

  it("answers an error of no kind as the route says, and never shows an internal message", function () {
    const plain = new TracerError("a store query failed: relation x does not exist");
    expect(httpErrorOf(plain).message).to.equal("internal error");
    expect(httpErrorOf(plain, "invalid-input")).to.include({ status: 400, code: "bad_request" });
    // A classified error keeps its own kind whatever the route's default.
    expect(httpErrorOf(new NotFoundError("unknown case 9"), "invalid-input").status).to.equal(404);
  });

  it("maps every kind, and the domains' errors descend from the root", function () {
    const kinds = Object.keys(EXIT_CODES).sort();
    expect(Object.keys(HTTP_STATUSES).sort()).to.deep.equal(kinds);
    expect(kinds).to.have.length(8);
    expect(new MatchError("too-large", "too many elements")).to.be.instanceOf(VeritraceError);
  });
});
