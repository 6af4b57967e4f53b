import type {
  BaseContract,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Result,
} from "ethers";
import { VeritraceError, withDecodedReverts } from "./errors.js";

/** Sends a transaction, waits for it, and turns consortium reverts into readable errors. */
export async function transact(
  send: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  return withDecodedReverts(async () => {
    const tx = await send();
    const receipt = await tx.wait();
    if (receipt === null)
      throw new VeritraceError(`transaction ${tx.hash} was dropped`, { kind: "unavailable" });
    return receipt;
  });
}

/** The arguments of the first `name` event that `contract` emitted in `receipt`. */
export async function eventOf(
  receipt: ContractTransactionReceipt,
  contract: BaseContract,
  name: string,
): Promise<Result> {
  const address = (await contract.getAddress()).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = contract.interface.parseLog(log);
    if (parsed?.name === name) return parsed.args;
  }
  throw new VeritraceError(`no ${name} event in transaction ${receipt.hash}`);
}
