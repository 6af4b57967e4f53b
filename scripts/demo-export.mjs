// The demo's export handler: what a bank's, a telecom operator's or a utility's own system would
// answer a granted request with. `veritrace exchange serve --handler` runs it with the request's
// fields as JSON on stdin; it writes a CSV file on stdout and its record count (the rows, without
// the header) to the file named by $VERITRACE_RECORDS_FILE. The rows are made up, the same for
// the same request, and never more than the grant allows.
import { writeFileSync } from "node:fs";
import process from "node:process";

const COLUMNS = {
  1: "booked,account,counterparty,amount,currency",
  2: "msisdn,holder,id_number,activated",
  4: "meter,address,period,cubic_metres",
  5: "meter,address,period,kwh",
};

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const header = COLUMNS[request.dataKind];
  if (header === undefined) {
    process.stderr.write(`no export for data kind ${request.dataKind}\n`);
    process.exit(3);
  }
  const id = Number(request.requestId);
  const count = Math.min(4 + ((id * 7) % 9), Number(request.remainingRecords));
  const rows = [header];
  for (let i = 0; i < count; i++) {
    const day = String(1 + ((id + i) % 28)).padStart(2, "0");
    switch (request.dataKind) {
      case 1:
        rows.push(
          `2026-10-${day},DE89370400440532013000,DE12500105170648489890,${(-(i + 1) * 1234.5).toFixed(2)},EUR`,
        );
        break;
      case 2:
        rows.push(`+4930901820${i},Subscriber ${id}-${i},T22-000-129,2025-0${1 + (i % 9)}-${day}`);
        break;
      default:
        rows.push(
          `M-${id}-${i},Harbour Street ${i + 1},2026-${String(1 + (i % 12)).padStart(2, "0")},${(i * 3.25 + 11).toFixed(2)}`,
        );
    }
  }
  process.stdout.write(`${rows.join("\n")}\n`);
  writeFileSync(process.env.VERITRACE_RECORDS_FILE, String(count));
});
