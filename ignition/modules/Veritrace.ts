import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { consortiumOn } from "./consortium.js";

/**
 * The whole consortium: participant registry (with its founding council), case registry,
 * access ledger, access-log anchor, label registry, freeze registry, matching ledger,
 * encryption key registry and exchange ledger.
 *
 * Parameters (module "Veritrace"):
 * - founders: [{ kind: "0x…" (bytes32), metadataCommitment: "0x…", signingKey: "0x…" }, …]
 * - quorum: approvals a council proposal needs (1 ≤ quorum ≤ founders.length)
 */
export default buildModule("Veritrace", (m) => {
  const founders =
    m.getParameter<{ kind: string; metadataCommitment: string; signingKey: string }[]>("founders");
  const quorum = m.getParameter<number>("quorum");

  const registry = m.contract("ParticipantRegistry", [founders, quorum]);
  return { registry, ...consortiumOn(m, registry) };
});
