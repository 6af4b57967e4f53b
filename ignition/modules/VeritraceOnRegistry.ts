import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { consortiumOn } from "./consortium.js";

/**
 * The consortium around a participant registry that already exists: the one a QBFT genesis
 * holds in its alloc (`npm run network:qbft`, docs/permissioned-network.md).
 *
 * Parameters (module "VeritraceOnRegistry"):
 * - registry: the ParticipantRegistry's address
 */
export default buildModule("VeritraceOnRegistry", (m) => {
  const registry = m.contractAt("ParticipantRegistry", m.getParameter<string>("registry"));
  return { registry, ...consortiumOn(m, registry) };
});
