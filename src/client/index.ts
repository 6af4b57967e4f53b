/**
 * The Veritrace client: typed access to the consortium's contracts for every role, EIP-712
 * signing of deliveries and matching sessions, keyed commitments of identifiers, and readable
 * contract errors.
 */
export * from "./age-keys.js";
export * from "./anchoring.js";
export * from "./auditor.js";
export * from "./cn-resident-id.js";
export * from "./commitments.js";
export * from "./deployment.js";
export * from "./eip712.js";
export * from "./encryption-keys.js";
export * from "./exchange-ledger.js";
export * from "./freezes.js";
export * from "./errors.js";
export * from "./iban.js";
export * from "./keystore.js";
export * from "./kinds.js";
export * from "./matching.js";
export * from "./normalize.js";
export * from "./roles.js";
export * from "./validate.js";
