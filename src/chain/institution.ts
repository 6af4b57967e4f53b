/**
 * An institution's key connected to the consortium's chain, as every command that signs makes it
 * (`match`, `access-log anchor`, `risk --publish`): the deployment record, the node (with the
 * credentials of --rpc-header, VERITRACE_RPC_HEADERS and the URL) checked to serve the record's
 * chain, and the key from an encrypted JSON keystore, unlocked with its password (a file, the
 * environment or a hidden prompt; never the command line). Written once, here.
 */
import { Wallet, type JsonRpcProvider } from "ethers";
import {
  connectConsortium,
  readDeployment,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../client/deployment.js";
import { readKeystorePassword, signerFromKeystore } from "../client/keystore.js";
import { ConflictError, TracerError, UnavailableError, firstLine } from "../shared/errors.js";
import { authenticatedProvider, nodeError, redactUrl } from "./rpc.js";

/** An encrypted JSON keystore and where its password comes from. */
export interface KeystoreKey {
  keystore: string;
  /** `--password-file`; else the environment, else a prompt on the terminal. */
  passwordFile?: string | undefined;
}

/** The institution's key on the consortium's chain; `close` disconnects. */
export interface InstitutionConnection {
  record: DeploymentRecord;
  provider: JsonRpcProvider;
  contracts: ConsortiumContracts;
  /** The key, connected to the node. */
  signer: Wallet;
  close(): void;
}

/**
 * The key of a keystore, decrypted: the password read, then the keystore (an InputError naming
 * the file when it can't be read or the password is wrong).
 */
export async function unlockKeystore(key: KeystoreKey): Promise<Wallet> {
  const password = await readKeystorePassword(key.keystore, { passwordFile: key.passwordFile });
  return signerFromKeystore(key.keystore, password);
}

/**
 * Connects `key` (a keystore, unlocked here, or a key already unlocked) to the node at `rpc`:
 * the deployment record first and the password next (a bad file costs no prompt and no request),
 * then the node, which must serve the record's chain, then the keystore's decryption.
 */
export async function connectInstitution(options: {
  rpc: string;
  /** The deployment record's file. */
  deployment: string;
  key: KeystoreKey | Wallet;
}): Promise<InstitutionConnection> {
  const { rpc, key } = options;
  const record = readDeployment(options.deployment);
  const password =
    key instanceof Wallet
      ? undefined
      : await readKeystorePassword(key.keystore, { passwordFile: key.passwordFile });
  const provider = authenticatedProvider(rpc, record.chainId, {
    pollingInterval: 250,
    // Calls made in the same tick are still sent as one batch; ethers' default 10 ms wait for
    // more would add 10 ms to every call awaited in turn (the gateway makes about ten an offer).
    batchStallTime: 0,
    // No caching of identical calls: two transactions in a row must each read the nonce.
    cacheTimeout: -1,
  });
  try {
    let chainId: bigint;
    try {
      chainId = BigInt(await provider.send("eth_chainId", []));
    } catch (error) {
      const failure = nodeError(error, rpc);
      throw failure instanceof TracerError
        ? failure
        : new UnavailableError(`cannot reach the node at ${redactUrl(rpc)}: ${firstLine(error)}`);
    }
    if (chainId !== BigInt(record.chainId))
      throw new ConflictError(
        `the node at ${redactUrl(rpc)} is chain ${chainId}, the deployment record's is ${record.chainId}`,
      );
    const signer =
      key instanceof Wallet
        ? key.connect(provider)
        : await signerFromKeystore(key.keystore, password as string, provider);
    return {
      record,
      provider,
      contracts: connectConsortium(record, provider),
      signer,
      close: () => provider.destroy(),
    };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
