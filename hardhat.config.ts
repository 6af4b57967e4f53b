import { createRequire } from "node:module";
import hardhatToolboxMochaEthersPlugin from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

/** The compiler ships with the `solc` npm package: nothing is downloaded. */
const SOLC_VERSION = "0.8.28";
const solcPath = require.resolve("solc/soljson.js");

const localRpcUrl = process.env.VERITRACE_RPC_URL ?? "http://127.0.0.1:8545";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthersPlugin],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          evmVersion: "cancun",
          optimizer: { enabled: true, runs: 10_000 },
        },
      },
      production: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          evmVersion: "cancun",
          optimizer: { enabled: true, runs: 10_000 },
        },
      },
    },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
    },
    mocha: {
      timeout: 120_000,
    },
  },
  networks: {
    /**
     * `hardhat node`. Coverage instrumentation grows contracts past EIP-170's 24,576 bytes; the
     * tests' nodes then accept them (scripts/lib/local-chain.ts sets the variable only for
     * instrumented artifacts, so the demo and benchmarks deploy under the real limit).
     */
    node: {
      type: "edr-simulated",
      chainType: "l1",
      allowUnlimitedContractSize: process.env["VERITRACE_UNLIMITED_CODE_SIZE"] === "1",
    },
    localhost: {
      type: "http",
      chainType: "l1",
      url: localRpcUrl,
    },
    /**
     * The consortium's permissioned Besu QBFT chain (docs/permissioned-network.md). Both values
     * are configuration variables, read only when a task connects to this network: from the
     * environment, else from hardhat-keystore (`npx hardhat keystore set CONSORTIUM_DEPLOYER_KEY`).
     * Never write a key here.
     */
    consortium: {
      type: "http",
      chainType: "l1",
      url: configVariable("CONSORTIUM_RPC_URL"),
      accounts: [configVariable("CONSORTIUM_DEPLOYER_KEY")],
    },
  },
});
