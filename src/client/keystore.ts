import { readFileSync, statSync } from "node:fs";
import { Wallet, type Provider } from "ethers";
import { InputError } from "./errors.js";

/** The environment variable the scripts read a keystore's password from (never the command line). */
export const KEYSTORE_PASSWORD_ENV = "VERITRACE_KEYSTORE_PASSWORD";

/** Where {@link readKeystorePassword} may find a keystore's password. */
export interface PasswordSources {
  /** `--password-file`: the file's first line is the password. */
  passwordFile?: string | undefined;
  /** The environment to read {@link KEYSTORE_PASSWORD_ENV} from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The terminal to prompt on (default: process.stdin/process.stderr when stdin is a TTY). */
  terminal?: { input: NodeJS.ReadStream; output: NodeJS.WriteStream } | null;
}

/**
 * A keystore's password, never from the command line: from `--password-file` (its first line;
 * refused when other users may read the file), else from {@link KEYSTORE_PASSWORD_ENV}, else
 * from a hidden prompt when stdin is a terminal. Throws an {@link InputError} naming the source
 * when none gives one.
 */
export async function readKeystorePassword(
  keystore: string,
  sources: PasswordSources = {},
): Promise<string> {
  const { passwordFile } = sources;
  if (passwordFile !== undefined) {
    let text: string;
    try {
      const mode = statSync(passwordFile).mode;
      if ((mode & 0o077) !== 0) {
        throw new InputError(
          passwordFile,
          `other users may read this password file (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
        );
      }
      text = readFileSync(passwordFile, "utf8");
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(passwordFile, `cannot read the password file: ${(e as Error).message}`);
    }
    const password = text.split(/\r?\n/)[0] ?? "";
    if (password === "")
      throw new InputError(passwordFile, "the password file's first line is empty");
    return password;
  }
  const fromEnv = (sources.env ?? process.env)[KEYSTORE_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const terminal =
    sources.terminal !== undefined
      ? sources.terminal
      : process.stdin.isTTY
        ? { input: process.stdin, output: process.stderr }
        : null;
  if (terminal === null) {
    throw new InputError(
      keystore,
      `the keystore needs its password: --password-file FILE, ${KEYSTORE_PASSWORD_ENV}, or a terminal to type it on`,
    );
  }
  const password = await hiddenPrompt(terminal, `password for ${keystore}: `);
  if (password === "") throw new InputError(keystore, "no password typed");
  return password;
}

/** Reads one line from a terminal without echoing it. */
function hiddenPrompt(
  terminal: { input: NodeJS.ReadStream; output: NodeJS.WriteStream },
  prompt: string,
): Promise<string> {
  const { input, output } = terminal;
  return new Promise((resolve, reject) => {
    let typed = "";
    const wasRaw = input.isRaw;
    // Echo off before the prompt shows: what is typed after it is never displayed.
    input.setRawMode?.(true);
    input.resume();
    output.write(prompt);
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write("\n");
      if (error === undefined) resolve(typed);
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new InputError("password", "interrupted"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else if (ch >= " ") typed += ch;
      }
    };
    input.on("data", onData);
  });
}

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
