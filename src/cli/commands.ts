/**
 * The table of `veritrace` commands, in the order `veritrace --help` lists them. Each command is
 * in its own file under commands/ and imports what commands share from command.ts, never this
 * table (npm run lint:deps refuses any import cycle).
 */
import { serveCommand } from "./commands/serve.js";
import { ACCESS_LOG_COMMANDS } from "./commands/access-log.js";
import { labelsImportCommand, labelsShowCommand } from "./commands/labels.js";
import { traceCommand, transfersCommand } from "./commands/trace.js";
import { riskCommand, screenCommand } from "./commands/risk.js";
import { MATCH_COMMANDS } from "./commands/match.js";
import type { Command } from "./command.js";
import { index } from "./commands/index-chain.js";
import { caseCommand, institutionCommand, subjectCommand } from "./commands/reports.js";
import { verifyDeliveryCommand, verifyEntryCommand } from "./commands/verify.js";
import { anomaliesCommand } from "./commands/anomalies.js";
import { freezesCommand } from "./commands/freezes.js";

/** Every command, in the order `veritrace --help` lists them. */
export const COMMANDS: Command[] = [
  index,
  caseCommand,
  institutionCommand,
  subjectCommand,
  verifyDeliveryCommand,
  verifyEntryCommand,
  anomaliesCommand,
  freezesCommand,
  traceCommand,
  transfersCommand,
  riskCommand,
  screenCommand,
  labelsImportCommand,
  labelsShowCommand,
  serveCommand,
  ...ACCESS_LOG_COMMANDS,
  ...MATCH_COMMANDS,
];
