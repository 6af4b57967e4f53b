/**
 * The architecture, enforced (npm run lint:deps): imports point only downward,
 *   entry points (cli, api)  →  reports (documents made of the domains' answers)  →
 *   domains (ledger, analytics, matching, exchange)  →
 *   infrastructure (chain, db)  →  shared;   client: the package institutions install (it
 *   imports only the error root, shared/errors.ts).
 * Type-only imports count (tsPreCompilationDeps): a cycle closed by types is still a cycle.
 */
const DOMAINS = "^src/(ledger|analytics|matching|exchange)/";
/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycle, type-only imports included.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "domains-below-entry-points",
      severity: "error",
      comment:
        "A domain, the infrastructure, shared code and the client never import the CLI or the API.",
      from: { path: "^src/(reports|ledger|analytics|matching|exchange|chain|db|shared|client)/" },
      to: { path: "^src/(cli|api)/" },
    },
    {
      name: "reports-above-domains",
      severity: "error",
      comment:
        "Reports are made of the domains' answers: no domain, infrastructure, shared code or client imports them.",
      from: { path: "^src/(ledger|analytics|matching|exchange|chain|db|shared|client)/" },
      to: { path: "^src/reports/" },
    },
    {
      name: "api-below-cli",
      severity: "error",
      comment: "The HTTP API does not import the command line.",
      from: { path: "^src/api/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "ledger-not-analytics",
      severity: "error",
      comment: "The consortium's ledger and the analytics of any chain are separate domains.",
      from: { path: "^src/ledger/" },
      to: { path: "^src/analytics/" },
    },
    {
      name: "analytics-not-ledger",
      severity: "error",
      comment: "The analytics of any chain don't read the consortium's ledger.",
      from: { path: "^src/analytics/" },
      to: { path: "^src/ledger/" },
    },
    {
      name: "matching-alone",
      severity: "error",
      comment: "The matching protocol imports neither the ledger's queries nor the analytics.",
      from: { path: "^src/matching/" },
      to: { path: "^src/(ledger|analytics)/" },
    },
    {
      name: "exchange-not-analytics",
      severity: "error",
      comment:
        "The data exchange between institutions does not read the analytics of other chains.",
      from: { path: "^src/exchange/" },
      to: { path: "^src/(analytics|matching)/" },
    },
    {
      name: "infrastructure-below-domains",
      severity: "error",
      comment: "The chain and database layers know no domain.",
      from: { path: "^src/(chain|db)/" },
      to: { path: DOMAINS },
    },
    {
      name: "shared-is-a-leaf",
      severity: "error",
      comment: "Shared code (errors, formatting, input) imports nothing else of the project.",
      from: { path: "^src/shared/" },
      to: { path: "^src/", pathNot: "^src/shared/" },
    },
    {
      name: "client-stands-alone",
      severity: "error",
      comment:
        "The client institutions install imports only itself, the error root (shared/errors.ts) and the generated contract types.",
      from: { path: "^src/client/" },
      to: { path: "^src/", pathNot: "^src/(client/|shared/errors\\.ts$)" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(types|artifacts|node_modules)/" },
    includeOnly: "^src/",
  },
};
