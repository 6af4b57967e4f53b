/**
 * A raw HTTP/1.1 POST over a TCP socket, with the body split into writes as the test says: to
 * check that a server answers the same bytes the same way whatever the TCP chunking.
 */
import { connect } from "node:net";
import { MATCH_PATH } from "../../src/matching/index.js";

/** How a message's bytes are split into TCP writes. */
export type Chunking = "one write" | "header line, then the rest" | "byte by byte";
export const CHUNKINGS: readonly Chunking[] = [
  "one write",
  "header line, then the rest",
  "byte by byte",
];

/**
 * POSTs `message` to the session route over a raw TCP socket, split as `chunking` says (with a
 * pause between writes, Nagle off, so that the server reads each write apart); the status and the
 * JSON error of the answer.
 */
export async function rawPost(
  url: string,
  headers: Record<string, string>,
  message: Buffer,
  chunking: Chunking,
): Promise<{ status: number; body: { code: string; detail: string } }> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.setNoDelay(true);
  socket.on("error", () => {}); // the server may close before the last byte is written
  const received: Buffer[] = [];
  socket.on("data", (c: Buffer) => received.push(c));
  const done = new Promise<void>((resolve) => {
    socket.once("end", () => resolve());
    socket.once("close", () => resolve());
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const fields = {
    host: u.host,
    ...headers,
    "content-type": "application/octet-stream",
    "content-length": String(message.length),
    connection: "close",
  };
  const head = Buffer.from(
    `POST ${MATCH_PATH} HTTP/1.1\r\n${Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}\r\n`,
  );
  const line = message.indexOf(0x0a) + 1;
  const writes =
    chunking === "one write"
      ? [Buffer.concat([head, message])]
      : chunking === "header line, then the rest"
        ? [Buffer.concat([head, message.subarray(0, line)]), message.subarray(line)]
        : [head, ...Array.from(message, (b) => Buffer.of(b))];
  for (const w of writes) {
    if (socket.destroyed || socket.writableEnded) break;
    socket.write(w);
    await new Promise((resolve) => setTimeout(resolve, chunking === "byte by byte" ? 1 : 50));
  }
  await done;
  socket.destroy();
  const text = Buffer.concat(received).toString("utf8");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    body: JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as {
      code: string;
      detail: string;
    },
  };
}

/** An answer read off a raw socket: its status, its header fields (lower-case names) and body. */
export interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/**
 * Sends `head` (the request line and header lines, without the blank line; `Connection: close` is
 * added) and `body` over a raw TCP socket, as written: for requests fetch and node:http won't
 * send, such as a header given twice. Reads the answer until the server closes.
 */
export async function rawRequest(
  url: string,
  head: readonly string[],
  body: Buffer = Buffer.alloc(0),
): Promise<RawAnswer> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.on("error", () => {}); // the server may close before the body is written
  const received: Buffer[] = [];
  socket.on("data", (c: Buffer) => received.push(c));
  const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.end(
    Buffer.concat([Buffer.from(`${[...head, "connection: close"].join("\r\n")}\r\n\r\n`), body]),
  );
  await done;
  const all = Buffer.concat(received);
  const end = all.indexOf("\r\n\r\n");
  const lines = all.subarray(0, end).toString("latin1").split("\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0),
    headers: lines.slice(1).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }),
    body: all.subarray(end + 4),
  };
}
