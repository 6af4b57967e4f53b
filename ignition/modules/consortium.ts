import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** The contracts that hang off the participant registry, in dependency order. */
export function consortiumOn(m: IgnitionModuleBuilder, registry: ContractFuture<string>) {
  const cases = m.contract("CaseRegistry", [registry]);
  const access = m.contract("AccessLedger", [registry, cases]);
  const anchor = m.contract("AccessLogAnchor", [registry, cases]);
  const labels = m.contract("LabelRegistry", [registry, cases]);
  const freezes = m.contract("FreezeRegistry", [registry, cases]);
  const matching = m.contract("MatchingLedger", [registry, cases, access]);
  const keys = m.contract("EncryptionKeyRegistry", [registry]);
  // Deployed last (after: matching), so that every earlier contract keeps the address and the
  // deployer nonce it had before this one existed.
  const exchange = m.contract("ExchangeLedger", [registry, cases, access, keys], {
    after: [matching, keys],
  });
  return { cases, access, anchor, labels, freezes, matching, keys, exchange };
}
