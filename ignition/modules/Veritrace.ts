import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The whole consortium: participant registry (with its founding council), case registry,
 * access ledger and access-log anchor.
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
  const cases = m.contract("CaseRegistry", [registry]);
  const access = m.contract("AccessLedger", [registry, cases]);
  const anchor = m.contract("AccessLogAnchor", [registry, cases]);
  const labels = m.contract("LabelRegistry", [registry, cases]);
  const freezes = m.contract("FreezeRegistry", [registry, cases]);

  return { registry, cases, access, anchor, labels, freezes };
});
