/**
 * The alert hook: a high or severe verdict published as a consortium label on chain
 * (LabelRegistry, bound to an active case, by the participant whose key signs). The key comes
 * only from an encrypted JSON keystore, its password from --password-file,
 * VERITRACE_KEYSTORE_PASSWORD or a hidden prompt (never the command line).
 */
import type { Wallet } from "ethers";
import { KEYSTORE_PASSWORD_ENV } from "../../client/keystore.js";
import { ParticipantClient } from "../../client/roles.js";
import { refuseSigningStdin } from "../../shared/input.js";
import { ConflictError, UsageError } from "../../shared/errors.js";
import { connectInstitution } from "../../chain/institution.js";
import { nodeError } from "../../chain/rpc.js";
import type { RiskReport } from "./score.js";

/** What publishing needs, checked before any work ({@link checkPublish}). */
export interface PublishPlan {
  ledgerRpc: string;
  deployment: string;
  keystore: string;
  /** `--password-file`; else the environment, else a prompt on the terminal. */
  passwordFile: string | undefined;
  caseNumberCommitment: string;
  /** The participant that opened the case; undefined: the signing participant itself. */
  caseOpener: number | undefined;
}

/** Checks the publishing options (usage errors, exit 2) before anything is read or sent. */
export function checkPublish(options: {
  ledgerRpc: string;
  deployment: string | undefined;
  keystore: string | undefined;
  passwordFile?: string | undefined;
  caseNumberCommitment: string | undefined;
  caseOpener?: number | undefined;
}): PublishPlan {
  const { deployment, keystore, caseNumberCommitment } = options;
  if (caseNumberCommitment === undefined)
    throw new UsageError(
      "--publish needs --case, the case number commitment the label is bound to",
    );
  if (!/^0x[0-9a-fA-F]{64}$/.test(caseNumberCommitment))
    throw new UsageError(
      `--case must be a case number commitment (0x and 64 hex digits), got ${JSON.stringify(caseNumberCommitment)}`,
    );
  if (deployment === undefined) throw new UsageError("--publish needs --deployment FILE");
  if (keystore === undefined) throw new UsageError("--publish needs --keystore FILE");
  const { passwordFile } = options;
  // None of these is read from stdin. The keystore and its password are secrets, kept in files
  // of their own (a password file is refused when others may read it), the environment or the
  // terminal's hidden prompt, which reads stdin; the deployment record is the consortium's
  // configuration, read again when the label is published.
  refuseSigningStdin(
    { keystore, "password-file": passwordFile, deployment },
    "it is read twice, again when the label is published",
  );
  const env = process.env[KEYSTORE_PASSWORD_ENV];
  if (passwordFile === undefined && (env === undefined || env === "") && !process.stdin.isTTY)
    throw new UsageError(
      `--keystore needs its password: --password-file FILE, ${KEYSTORE_PASSWORD_ENV}, or a terminal to type it on`,
    );
  return {
    ledgerRpc: options.ledgerRpc,
    deployment,
    keystore,
    passwordFile,
    caseNumberCommitment,
    caseOpener: options.caseOpener,
  };
}

/** The label a report publishes: its top category, the score as the confidence. */
export function alertLabel(report: RiskReport): { category: string; confidence: number } {
  if (report.verdict !== "high" && report.verdict !== "severe")
    throw new ConflictError(
      `${report.address} scores ${report.score} (${report.verdict}): only high or severe verdicts are published`,
    );
  const top = report.exposures[0];
  if (top === undefined) throw new ConflictError(`${report.address} has no exposure to publish`);
  return { category: top.category, confidence: report.score };
}

/**
 * Publishes the alert label with the key unlocked before any work (`unlockKeystore(plan)`: a wrong
 * password or keystore fails at once, not after the screening), through the consortium's node (checked to
 * serve the deployment record's chain); returns its id.
 */
export async function publishAlert(
  plan: PublishPlan,
  key: Wallet,
  report: RiskReport,
  chainId: number,
): Promise<{ labelId: bigint; category: string; confidence: number }> {
  const { category, confidence } = alertLabel(report);
  const connection = await connectInstitution({
    rpc: plan.ledgerRpc,
    deployment: plan.deployment,
    key,
  });
  try {
    const client = new ParticipantClient(connection.contracts, connection.signer);
    const labelId = await client.publishLabel({
      subject: report.address,
      chainId,
      category,
      caseNumberCommitment: plan.caseNumberCommitment,
      ...(plan.caseOpener === undefined ? {} : { caseOpener: plan.caseOpener }),
      confidence,
    });
    return { labelId, category, confidence };
  } catch (error) {
    // The node's failures name it by its redacted URL (ethers' messages hold the whole URL).
    throw nodeError(error, plan.ledgerRpc);
  } finally {
    connection.close();
  }
}
