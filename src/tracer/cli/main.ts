/**
 * `veritrace`: the tracing service's command line. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InputError } from "../../client/errors.js";
import { TracerError, UsageError } from "../errors.js";
import { COMMANDS, type Command } from "./commands.js";

const GLOBAL_HELP = `veritrace: the Veritrace tracing service

usage: veritrace <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join("\n")}

Run "veritrace <command> --help" for a command's options.
The store is embedded PostgreSQL (PGlite) in .veritrace/db by default; --db DIR for another
directory, --db postgres://… (or DATABASE_URL) for a PostgreSQL server. An embedded store takes
one process at a time: "veritrace serve --follow" indexes and serves in one; several processes
need a PostgreSQL server.`;

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  for (const c of COMMANDS) {
    const words = c.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return { command: c, rest: argv.slice(words.length) };
  }
  return null;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(GLOBAL_HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (found === null) {
    console.error(`veritrace: unknown command "${argv.join(" ")}" (try veritrace --help)`);
    return 2;
  }
  const { command, rest } = found;
  const config: ParseArgsConfig = {
    args: rest,
    options: { ...command.options, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    console.error(`veritrace ${command.name}: ${(error as Error).message}`);
    return 2;
  }
  if (parsed.values["help"] === true) {
    console.log(
      `usage: veritrace ${command.name} ${command.usage}\n\n${command.summary}\n\n${command.help}`,
    );
    return 0;
  }
  try {
    return await command.run(
      parsed.values as Record<string, string | boolean | undefined>,
      parsed.positionals,
    );
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`veritrace ${command.name}: ${error.message}`);
      return 2;
    }
    if (error instanceof TracerError || error instanceof InputError) {
      console.error(`veritrace ${command.name}: ${error.message}`);
      return 1;
    }
    const e = error as Error;
    console.error(`veritrace ${command.name}: ${e.message.split("\n")[0] ?? String(error)}`);
    if (process.env["VERITRACE_DEBUG"] !== undefined) console.error(e.stack);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
