import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Besu permissioning rules served from an already deployed participant registry. The ingress
 * contracts are not deployed here: they sit in the genesis alloc (see
 * scripts/lib/permissioning.ts), and the council points them at these rules with `SetRules`.
 *
 * Parameters (module "Permissioning"):
 * - registry: the ParticipantRegistry's address
 * - restrictedKinds: kinds (bytes32) whose accounts may only call `consortiumContracts` (default none)
 * - consortiumContracts: the targets restricted accounts may call; the zero address allows
 *   them to create contracts (default none)
 */
export default buildModule("Permissioning", (m) => {
  const registry = m.getParameter<string>("registry");
  const restrictedKinds = m.getParameter<string[]>("restrictedKinds", []);
  const consortiumContracts = m.getParameter<string[]>("consortiumContracts", []);

  const accountRules = m.contract("AccountRules", [registry, restrictedKinds, consortiumContracts]);
  const nodeRules = m.contract("NodeRules", [registry]);

  return { accountRules, nodeRules };
});
