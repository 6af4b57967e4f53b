/**
 * The options that connect a `veritrace match` command to the consortium's matching ledger
 * (--rpc, --deployment, --keystore, --password-file, or --no-ledger), and the ledger they name.
 * The protocol's side of the ledger is src/matching/ledger.ts.
 */
import { KEYSTORE_PASSWORD_ENV } from "../client/keystore.js";
import { connectInstitution } from "../chain/institution.js";
import { connectMatchLedger, type MatchLedger } from "../matching/ledger.js";
import { UsageError } from "../shared/errors.js";
import { refuseSigningStdin } from "../shared/input.js";
import { str, type OptionValues } from "../shared/options.js";
import { checkHttpUrl, flagOptions, stringOptions } from "./command.js";

/** Environment variable holding the JSON-RPC URL (instead of --rpc). */
export const RPC_ENV = "VERITRACE_RPC_URL";

/** The options that connect a `match` command to the ledger. */
export const LEDGER_OPTIONS = {
  ...stringOptions("rpc", "deployment", "keystore", "password-file"),
  ...flagOptions("no-ledger"),
};

/** The help of the options naming the ledger and the key (the commands that require them). */
export const SIGNING_HELP = [
  `  --rpc URL            JSON-RPC endpoint of the consortium's chain (or ${RPC_ENV})`,
  "  --deployment FILE    the consortium's deployment record",
  `  --keystore FILE      this institution's encrypted JSON keystore (password from --password-file,`,
  `                       ${KEYSTORE_PASSWORD_ENV} or a hidden prompt on the terminal)`,
  "  --password-file FILE the keystore's password: the file's first line (mode 600)",
  "                       (--deployment, --keystore, --password-file: files, never - for stdin)",
].join("\n");

/** The help of {@link LEDGER_OPTIONS}. */
export const LEDGER_HELP = [
  SIGNING_HELP,
  "  --no-ledger          the protocol alone, nothing recorded: for testing only",
].join("\n");

/**
 * Whether the options name the ledger (true) or --no-ledger (false); a usage error for neither or
 * both. Cheap: commands call it before anything else.
 */
export function usesLedger(values: OptionValues): boolean {
  // Stdin is left for the command's input (--input -, --request -, …), of which it can carry one.
  refuseSigningStdin(
    values,
    "a command that signs reads the deployment record from a file; stdin is left for its input",
  );
  const named = (["rpc", "deployment", "keystore"] as const).filter(
    (n) => str(values, n) !== undefined,
  );
  if (values["no-ledger"] === true) {
    if (named.length > 0)
      throw new UsageError(
        `--no-ledger runs the protocol alone: drop ${named.map((n) => `--${n}`).join(", ")}`,
      );
    return false;
  }
  if (named.length === 0)
    throw new UsageError(
      `a matching session is recorded on the ledger: give --rpc URL (or ${RPC_ENV}), --deployment FILE and --keystore FILE, or --no-ledger for the protocol alone (testing only)`,
    );
  return true;
}

/**
 * The ledger named by --rpc (or VERITRACE_RPC_URL), --deployment and --keystore, or null with
 * --no-ledger. Without either, a usage error: a session is an access like any other, recorded.
 */
export async function ledgerFromOptions(values: OptionValues): Promise<MatchLedger | null> {
  if (!usesLedger(values)) return null;
  const env = process.env[RPC_ENV];
  const rpc = str(values, "rpc") ?? (env === undefined || env === "" ? undefined : env);
  const deployment = str(values, "deployment");
  const keystore = str(values, "keystore");
  if (rpc === undefined) throw new UsageError(`--rpc URL (or ${RPC_ENV}) is required`);
  if (deployment === undefined) throw new UsageError("--deployment FILE is required");
  if (keystore === undefined) throw new UsageError("--keystore FILE is required");
  const connection = await connectInstitution({
    rpc: checkHttpUrl("rpc", rpc),
    deployment,
    key: { keystore, passwordFile: str(values, "password-file") },
  });
  try {
    return await connectMatchLedger(connection.contracts, connection.signer, {
      close: connection.close,
      what: "the keystore's key",
    });
  } catch (error) {
    connection.close();
    throw error;
  }
}

/** Runs `fn` with the ledger of the options (or null with --no-ledger), then disconnects. */
export async function withLedger<T>(
  values: OptionValues,
  fn: (ledger: MatchLedger | null) => Promise<T>,
): Promise<T> {
  const ledger = await ledgerFromOptions(values);
  try {
    return await fn(ledger);
  } finally {
    ledger?.close();
  }
}

/** Runs `fn` with the ledger of the options, which `command` requires (no --no-ledger). */
export async function requireLedger<T>(
  values: OptionValues,
  command: string,
  fn: (ledger: MatchLedger) => Promise<T>,
): Promise<T> {
  if (values["no-ledger"] === true)
    throw new UsageError(`${command} records on the ledger: --no-ledger makes no sense here`);
  return withLedger(values, (ledger) => fn(ledger as MatchLedger));
}
