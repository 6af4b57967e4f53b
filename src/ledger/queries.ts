/**
 * The ledger's audit queries, one module each: custody (a case's chain of custody), institutions,
 * subjects, verification (deliveries' signatures, anchored entries). Imported from here as before.
 */
export * from "./custody.js";
export * from "./institutions.js";
export * from "./subjects.js";
export * from "./verification.js";
