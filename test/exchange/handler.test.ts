/** The provider's handler: its export streamed, its record count, and every way it refuses. */
import { expect } from "chai";
import { HandlerError, RECORDS_FILE_ENV, runHandler } from "../../src/exchange/handler.js";

/** Collects a handler's stdout. */
async function collect(stdout: AsyncIterable<Buffer>): Promise<string> {
  let text = "";
  for await (const c of stdout) text += c.toString();
  return text;
}

async function refusal(promise: Promise<unknown>): Promise<HandlerError> {
  try {
    await promise;
  } catch (e) {
    expect(e).to.be.instanceOf(HandlerError);
    return e as HandlerError;
  }
  throw new Error("expected a refusal");
}

describe("runHandler", function () {
  this.timeout(20_000);

  it("hands the request to stdin and streams stdout; the count is the export's lines", async function () {
    const run = await runHandler("cat; printf 'a\\nb\\nlast'", { requestId: "12" }, 5000, collect);
    expect(run.result).to.equal('{"requestId":"12"}\na\nb\nlast');
    expect(run.records).to.equal(4n);
    expect(run.bytes).to.equal(run.result.length);
  });

  it("keeps the whole export of a handler that exits before its stdout is read", async function () {
    // The consumer starts reading only after the handler is gone, as the gateway does when a
    // fast handler finishes while the envelope's header is being made.
    const run = await runHandler("printf 'a\\nb\\n'", {}, 5000, async (stdout) => {
      await new Promise((r) => setTimeout(r, 300));
      return collect(stdout);
    });
    expect(run.result).to.equal("a\nb\n");
    expect(run.records).to.equal(2n);
  });

  it("takes the record count the handler writes to $VERITRACE_RECORDS_FILE", async function () {
    const run = await runHandler(
      `printf 'h\\n1\\n2\\n'; echo 2 > "$${RECORDS_FILE_ENV}"`,
      {},
      5000,
      collect,
    );
    expect(run.records).to.equal(2n);
  });

  it("refuses a count that is not a number", async function () {
    const e = await refusal(
      runHandler(`echo x; echo many > "$${RECORDS_FILE_ENV}"`, {}, 5000, collect),
    );
    expect(e.reason).to.equal("record-count");
  });

  it("refuses a non-zero exit, naming the code and the last line of stderr", async function () {
    const e = await refusal(
      runHandler(
        "echo partial; echo 'first' >&2; echo 'no such account' >&2; exit 4",
        {},
        5000,
        collect,
      ),
    );
    expect(e.reason).to.equal("exit");
    expect(e.message).to.equal("the handler exited with code 4: no such account");
  });

  it("kills a handler past its timeout, and what it started too", async function () {
    const started = Date.now();
    const e = await refusal(runHandler("echo begun; sleep 30 & sleep 30", {}, 500, collect));
    expect(e.reason).to.equal("timeout");
    expect(e.message).to.equal("the handler did not finish within 0.5 s");
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it("a handler killed by a signal is refused", async function () {
    const e = await refusal(runHandler("kill -TERM $$", {}, 5000, collect));
    expect(e.reason).to.equal("signal");
  });
});
