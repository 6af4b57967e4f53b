import { readFileSync } from "node:fs";
import { Wallet, type Provider } from "ethers";
import { InputError } from "./errors.js";

/** The environment variable the scripts read a keystore's password from (never the command line). */
export const KEYSTORE_PASSWORD_ENV = "VERITRACE_KEYSTORE_PASSWORD";

/**
 * An institution's signer from an encrypted JSON keystore (Web3 Secret Storage, as written by
 * geth, Foundry's `cast wallet` or ethers): the key exists only in memory, decrypted with the
 * password. Throws an {@link InputError} naming the file when it can't be read or decrypted.
 */
export async function signerFromKeystore(
  file: string,
  password: string,
  provider?: Provider,
): Promise<Wallet> {
  let json: string;
  try {
    json = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(file, `cannot read the keystore: ${(e as Error).message}`);
  }
  try {
    JSON.parse(json);
  } catch {
    throw new InputError(file, "is not a JSON keystore");
  }
  if (password.length === 0)
    throw new InputError(KEYSTORE_PASSWORD_ENV, "the keystore's password is empty");
  let wallet: Wallet;
  try {
    const decrypted = await Wallet.fromEncryptedJson(json, password);
    wallet = new Wallet(decrypted.privateKey);
  } catch {
    throw new InputError(file, "wrong password, or not an encrypted JSON keystore");
  }
  return provider === undefined ? wallet : wallet.connect(provider);
}
