/**
 * The ERC-20 world the exchange deposit-address tests play on, on anvil: a 6-decimal test token,
 * a fresh wallet per role (1 ether for gas), every transfer sent under a name with its hash and
 * block kept, and a TagPack that labels one role as an exchange's hot wallet. A test mints and
 * sends in its `before`, reads the chain with the tracer, and stops the world in its `after`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { hexlify, randomBytes, Wallet, type Signer } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { RpcClient } from "../../src/chain/rpc.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { TestToken__factory, type TestToken } from "../../types/ethers-contracts/index.js";

export class ExchangeWorld<Role extends string> {
  /** Every transfer sent, by name: its hash (lower case) and block. */
  private readonly sent = new Map<string, { hash: string; block: number }>();

  private constructor(
    readonly chain: LocalChain,
    private readonly connection: NetworkConnection,
    readonly rpc: RpcClient,
    private readonly deployer: Signer,
    readonly token: TestToken,
    /** The token's address, lower case. */
    readonly tokenAddress: string,
    private readonly wallets: ReadonlyMap<Role, Wallet>,
    /** A directory of the test's own, removed by {@link stop}. */
    readonly tmp: string,
    /** The TagPack file labeling the exchange's hot wallet. */
    readonly tagpack: string,
  ) {}

  /**
   * Starts anvil, deploys the token, makes a wallet for each of `roles`, and writes a TagPack
   * that labels `exchange.role` with `exchange.label` (category exchange).
   */
  static async start<Role extends string>(
    roles: readonly Role[],
    exchange: { role: Role; label: string },
  ): Promise<ExchangeWorld<Role>> {
    const chain = await startLocalChain("anvil");
    const undo: (() => Promise<void> | void)[] = [() => chain.stop()];
    try {
      const connection = await network.create({
        network: "localhost",
        override: { url: chain.url },
      });
      undo.push(() => connection.close());
      const rpc = new RpcClient(chain.url, { maxRetries: 0 });
      const [deployer] = await connection.ethers.getSigners();
      if (deployer === undefined) throw new Error("signers");
      const token = await new TestToken__factory(deployer).deploy("Test USD", "TUSD", 6);
      await token.waitForDeployment();
      const wallets = new Map<Role, Wallet>();
      for (const role of roles) {
        const wallet = new Wallet(hexlify(randomBytes(32)), connection.ethers.provider);
        await rpc.call("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
        wallets.set(role, wallet);
      }
      const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-exchange-"));
      const tagpack = path.join(tmp, "exchange.yaml");
      const hotWallet = wallets.get(exchange.role)?.address.toLowerCase();
      if (hotWallet === undefined) throw new Error(`the exchange ${exchange.role} is no role`);
      writeFileSync(
        tagpack,
        [
          "title: Deposit test exchange",
          "creator: Veritrace tests",
          "source: https://example.org/exchange",
          "currency: ETH",
          "tags:",
          `- address: '${hotWallet}'`,
          `  label: ${exchange.label}`,
          "  category: exchange",
          "",
        ].join("\n"),
      );
      return new ExchangeWorld(
        chain,
        connection,
        rpc,
        deployer,
        token,
        (await token.getAddress()).toLowerCase(),
        wallets,
        tmp,
        tagpack,
      );
    } catch (error) {
      for (const step of undo.reverse()) await step();
      throw error;
    }
  }

  /** A role's wallet. */
  wallet(role: Role): Wallet {
    const wallet = this.wallets.get(role);
    if (wallet === undefined) throw new Error(`${role} is no role of this world`);
    return wallet;
  }

  /** A role's address, lower case. */
  addr(role: Role): string {
    return this.wallet(role).address.toLowerCase();
  }

  /** Mints `amount` of the token to a role. */
  async mint(role: Role, amount: bigint): Promise<void> {
    await (await this.token.connect(this.deployer).mint(this.addr(role), amount)).wait();
  }

  /** Sends `amount` of the token from one role to another, kept under `name`. */
  async send(name: string, from: Role, to: Role, amount: bigint): Promise<void> {
    const response = await this.token.connect(this.wallet(from)).transfer(this.addr(to), amount);
    const receipt = await response.wait();
    if (receipt === null) throw new Error("no receipt");
    this.sent.set(name, { hash: receipt.hash.toLowerCase(), block: receipt.blockNumber });
  }

  /** The hash of the transfer sent under `name`. */
  tx(name: string): string {
    return this.transfer(name).hash;
  }

  /** The block of the transfer sent under `name`. */
  block(name: string): number {
    return this.transfer(name).block;
  }

  async stop(): Promise<void> {
    await this.connection.close();
    await this.chain.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  private transfer(name: string): { hash: string; block: number } {
    const sent = this.sent.get(name);
    if (sent === undefined) throw new Error(`no transfer ${name}`);
    return sent;
  }
}
