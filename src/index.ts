/**
 * The `veritrace` package: the client institutions use (also at `veritrace/client`). The
 * `veritrace` command is the package's bin.
 */
export * from "./client/index.js";
