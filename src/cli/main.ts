/**
 * `veritrace`: the tracing service's command line. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT_CODES, VeritraceError } from "../shared/errors.js";
import { packageVersion } from "../shared/package.js";
import { COMMANDS, type CommandEntry } from "./commands.js";
import { oneLine } from "../shared/format.js";

const GLOBAL_HELP = `veritrace: the Veritrace tracing service

usage: veritrace <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join("\n")}

Run "veritrace <command> --help" for a command's options.
The store is embedded PostgreSQL (PGlite) in .veritrace/db by default; --db DIR for another
directory, --db postgres://… (or DATABASE_URL) for a PostgreSQL server. An embedded store takes
one process at a time: "veritrace serve --follow" indexes and serves in one; several processes
need a PostgreSQL server.`;

/** As chain/rpc.ts's RPC_HEADERS_ENV (not imported here: --help loads no command's modules). */
const RPC_HEADERS_ENV = "VERITRACE_RPC_HEADERS";

const RPC_HEADER_HELP = [
  '  --rpc-header "NAME: VALUE"  HTTP header for the JSON-RPC node, e.g. "Authorization: Bearer …"',
  `                       (repeatable; also ${RPC_HEADERS_ENV}, one header per line; credentials`,
  "                       can also be given in the URL: https://user:password@host; never printed)",
].join("\n");

function findCommand(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | null {
  for (const c of COMMANDS) {
    const words = c.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return { entry: c, rest: argv.slice(words.length) };
  }
  return null;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(GLOBAL_HELP);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-V") {
    console.log(`veritrace ${packageVersion()}`);
    return 0;
  }
  const found = findCommand(argv);
  // A command group alone (`veritrace match`, `veritrace verify --help`) lists its subcommands.
  const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
  if (
    found === null &&
    group.length > 0 &&
    (argv.length === 1 || /^(-h|--help)$/.test(argv[1] ?? ""))
  ) {
    console.log(
      [
        `usage: veritrace ${argv[0]} <subcommand> [options]`,
        "",
        "subcommands:",
        ...group.map(
          (c) =>
            `  ${c.name
              .slice(argv[0]?.length ?? 0)
              .trim()
              .padEnd(14)} ${c.summary}`,
        ),
        "",
        `Run "veritrace ${argv[0]} <subcommand> --help" for its options.`,
      ].join("\n"),
    );
    return argv.length === 1 ? 2 : 0;
  }
  if (found === null) {
    console.error(
      `veritrace: unknown command ${oneLine(JSON.stringify(argv.join(" ")))} (try veritrace --help)`,
    );
    return 2;
  }
  const { entry, rest } = found;
  // The command's module, and what every command needs, only now: --help alone loads neither.
  const [command, rpc] = await Promise.all([entry.load(), import("../chain/rpc.js")]);
  // Every command that reads a JSON-RPC node takes its headers (credentials) the same way.
  const readsNode = "rpc" in command.options;
  const config: ParseArgsConfig = {
    args: rest,
    options: {
      ...command.options,
      ...(readsNode ? { "rpc-header": { type: "string", multiple: true } } : {}),
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    console.error(`veritrace ${command.name}: ${oneLine((error as Error).message)}`);
    return 2;
  }
  if (parsed.values["help"] === true) {
    const rpcHelp = readsNode ? `\n${RPC_HEADER_HELP}` : "";
    console.log(
      `usage: veritrace ${command.name} ${command.usage}\n\n${entry.summary}\n\n${command.help}${rpcHelp}`,
    );
    return 0;
  }
  try {
    if (readsNode) {
      const flags = (parsed.values["rpc-header"] as string[] | undefined) ?? [];
      const env = process.env[RPC_HEADERS_ENV];
      rpc.setDefaultRpcHeaders({
        ...rpc.parseRpcHeaders(env === undefined ? [] : env.split("\n")),
        ...rpc.parseRpcHeaders(flags),
      });
      delete parsed.values["rpc-header"];
    }
    return await command.run(
      parsed.values as Record<string, string | boolean | undefined>,
      parsed.positionals,
    );
  } catch (error) {
    // Every error raised on purpose: its message, and the exit code of its kind (usage 2, could
    // not check 3, else 1), mapped once in shared/errors.ts.
    if (error instanceof VeritraceError) {
      console.error(`veritrace ${command.name}: ${oneLine(error.message)}`);
      return EXIT_CODES[error.kind];
    }
    const e = error as Error;
    console.error(
      `veritrace ${command.name}: ${oneLine(e.message.split("\n")[0] ?? String(error))}`,
    );
    if (process.env["VERITRACE_DEBUG"] !== undefined) console.error(e.stack);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
